import { ChildProcess, spawn } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';

export interface Server {
  name: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

// The core servers run on; the load generator (this process) runs on the other one.
export const SERVER_CORE = '0';

// Starts `node <args>` pinned to SERVER_CORE (taskset), and resolves once `ready` answers 200.
export async function startServer(
  name: string,
  port: number,
  args: string[],
  env: Record<string, string>,
  ready = '/health/live',
): Promise<Server> {
  const child: ChildProcess = spawn('taskset', ['-c', SERVER_CORE, process.execPath, ...args], {
    env: { PATH: process.env.PATH, ...env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const up = await fetch(`http://127.0.0.1:${port}${ready}`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (up) break;
    if (child.exitCode !== null) throw new Error(`${name} exited: ${stderr}`);
    if (Date.now() > deadline) throw new Error(`${name} did not start: ${stderr}`);
    await delay(100); // polling a process that is starting: nothing to wait on but the port
  }
  return {
    name,
    port,
    pid: child.pid!,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
