import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createHmac } from 'node:crypto';
import { freePort } from './free-port';
import { GENEROUS_LIMITS, TEST_JWT_SECRET } from './test-app';

const MAIN = join(__dirname, '..', '..', 'dist', 'src', 'main.js');

// One app process, `node dist/src/main.js`, as an operator runs it: its own port, a shared
// database, real signals.
export class Instance {
  readonly http: string;
  readonly ws: string;
  // Everything it printed, for the failure message of a test.
  output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    readonly name: string,
    readonly port: number,
    readonly child: ChildProcess,
  ) {
    this.http = `http://127.0.0.1:${port}`;
    this.ws = `ws://127.0.0.1:${port}/ws`;
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
  }

  // Starts it and resolves once it listens (it says so on stdout).
  static async start(
    name: string,
    databaseUrl: string,
    env: Record<string, string> = {},
  ): Promise<Instance> {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: npm run build first`);
    const port = await freePort();
    const child = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'test',
        LOG_LEVEL: 'warn',
        PORT: String(port),
        DATABASE_URL: databaseUrl,
        JWT_SECRET: TEST_JWT_SECRET,
        // Takeovers within seconds, so the tests do not wait out production timings.
        RUN_HEARTBEAT_SECONDS: '10',
        QUEUE_MONITOR_SECONDS: '1',
        ...GENEROUS_LIMITS,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const instance = new Instance(name, port, child);
    await new Promise<void>((resolve, reject) => {
      const onData = () => {
        if (instance.output.includes('listening on')) {
          child.stdout?.off('data', onData);
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      void instance.exited.then(({ code }) =>
        reject(new Error(`${name} exited (${code}) before listening:\n${instance.output}`)),
      );
    });
    return instance;
  }

  get pid(): number {
    return this.child.pid!;
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

// A token the instances accept (they share TEST_JWT_SECRET), as an issuer would sign it.
export function tokenFor(userId: string, claims: Record<string, unknown> = {}): string {
  const now = Math.floor(Date.now() / 1000);
  return hs256({ sub: userId, iat: now, exp: now + 3600, ...claims }, TEST_JWT_SECRET);
}

export function hs256(
  payload: Record<string, unknown>,
  secret: string,
  header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' },
): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signed = `${part(header)}.${part(payload)}`;
  return `${signed}.${createHmac('sha256', secret).update(signed).digest('base64url')}`;
}
