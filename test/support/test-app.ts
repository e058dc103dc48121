import { INestApplication, ModuleMetadata } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { randomBytes } from 'node:crypto';
import { AddressInfo } from 'node:net';
import { Client } from 'pg';
import { AppModule } from '../../src/app.module';
import { configureApp } from '../../src/app.setup';
import { TokenService } from '../../src/auth/token.service';

export const TEST_JWT_SECRET = 'test-secret-for-e2e-only-0123456789';

// Suites that are not about the limits must not meet them; the limits suite sets its own.
export const GENEROUS_LIMITS = {
  RATE_LIMIT_RUN_STARTS: '100000',
  RATE_LIMIT_REQUESTS: '100000',
  RATE_LIMIT_FRAMES: '100000',
  MAX_ACTIVE_RUNS: '10000',
  MAX_SOCKETS_PER_USER: '1000',
  MAX_STREAMS_PER_USER: '1000',
};

export interface TestApp {
  app: INestApplication;
  http: string;
  ws: string;
  databaseUrl: string;
  token(userId: string): Promise<string>;
  // Stops the app but keeps its database, for restart tests.
  stop(): Promise<void>;
  close(): Promise<void>;
}

// A real app on a real port, with its own database, so test files run in parallel safely.
export async function createDatabase(): Promise<string> {
  const admin = process.env.TEST_ADMIN_DATABASE_URL;
  if (!admin)
    throw new Error('TEST_ADMIN_DATABASE_URL is not set: run through jest (global setup)');
  const name = `netra_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await withAdmin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function dropDatabase(databaseUrl: string): Promise<void> {
  const name = new URL(databaseUrl).pathname.slice(1);
  await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

export async function startTestApp(
  options: {
    databaseUrl?: string;
    env?: Record<string, string>;
    // Extra modules, as a team's feature module would be added to AppModule.
    imports?: ModuleMetadata['imports'];
  } = {},
): Promise<TestApp> {
  const databaseUrl = options.databaseUrl ?? (await createDatabase());
  // What an earlier app of this process was given does not carry over to this one.
  for (const key of Object.keys(process.env)) {
    if (key.startsWith('LLM_') || key.startsWith('WEBHOOK_')) delete process.env[key];
  }
  Object.assign(process.env, {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    JWT_SECRET: TEST_JWT_SECRET,
    SSE_HEARTBEAT_MS: '15000',
    WS_HEARTBEAT_MS: '30000',
    // A test that closes its app mid-run hands the run back at once.
    SHUTDOWN_GRACE_MS: '0',
    APP_ROLE: 'all',
    ...GENEROUS_LIMITS,
    DATABASE_URL: databaseUrl,
    ...options.env,
  });
  const moduleRef = await Test.createTestingModule({
    imports: [AppModule.forRoot(), ...(options.imports ?? [])],
  }).compile();
  const app = configureApp(moduleRef.createNestApplication({ bufferLogs: true }));
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await app.close();
  };
  return {
    app,
    http: `http://127.0.0.1:${port}`,
    ws: `ws://127.0.0.1:${port}/ws`,
    databaseUrl,
    token: (userId) => app.get(TokenService).sign(userId),
    stop,
    close: async () => {
      await stop();
      await dropDatabase(databaseUrl);
    },
  };
}

async function withAdmin<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: process.env.TEST_ADMIN_DATABASE_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
