import { readFileSync } from 'node:fs';

// CPU seconds a process has used (user + system), from /proc/<pid>/stat: the figure that does
// not depend on how fast the load generator is (on 2 cores it saturates before the server).
const TICKS_PER_SECOND = 100; // getconf CLK_TCK on Linux

export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / TICKS_PER_SECOND;
}
