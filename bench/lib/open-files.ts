import { readFileSync } from 'node:fs';

// Files the generator opens besides its sockets (PostgreSQL, the servers' pipes, modules).
const HEADROOM = 1024;

// The load generator holds every client socket in this one process (and each server inherits the
// same limit): fail before connecting, with what to do, rather than with EMFILE halfway through.
export function requireOpenFiles(sockets: number): void {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'));
  const soft = line?.split(/\s+/)[3];
  if (soft === undefined || soft === 'unlimited') return;
  const needed = sockets + HEADROOM;
  if (Number(soft) < needed) {
    throw new Error(
      `${sockets} sockets need an open-file limit of at least ${needed}, and it is ${soft}: ` +
        `raise it (ulimit -n ${Math.max(4096, needed)}) and run again`,
    );
  }
}
