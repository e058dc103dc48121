import { readFileSync } from 'node:fs';
import { Inspector } from './inspector';

export interface Memory {
  heapUsed: number;
  rss: number;
}

// Resident set size of a process, in bytes (VmRSS of /proc/<pid>/status, in kB there).
export function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  if (!line) throw new Error(`no VmRSS for process ${pid}`);
  return Number(line.split(/\s+/)[1]) * 1024;
}

// The server's heap after garbage collection, and its RSS right after.
export async function memoryOf(pid: number, inspector: Inspector): Promise<Memory> {
  const heapUsed = await inspector.heapUsedAfterGc();
  return { heapUsed, rss: rssBytes(pid) };
}
