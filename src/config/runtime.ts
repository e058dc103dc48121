import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EmbeddedDatabase, startEmbeddedDatabase } from './embedded-database';
import { validateEnv } from './env.validation';

export interface Runtime {
  embedded?: EmbeddedDatabase;
  generatedSecret: boolean;
}

// Fills the defaults that need work before Nest starts: an embedded PostgreSQL when no DATABASE_URL
// is given, and a development JWT secret kept under .data/ outside production.
export async function prepareRuntime(env: NodeJS.ProcessEnv = process.env): Promise<Runtime> {
  const dataDir = resolve(env.DATA_DIR ?? '.data');
  const production = env.NODE_ENV === 'production';
  if (production && !env.JWT_SECRET) {
    throw new Error('Invalid configuration:\n  - JWT_SECRET is required in production');
  }
  if (production && !env.DATABASE_URL) {
    throw new Error('Invalid configuration:\n  - DATABASE_URL is required in production');
  }

  let generatedSecret = false;
  if (!env.JWT_SECRET) {
    env.JWT_SECRET = readOrCreateSecret(join(dataDir, 'jwt-secret'));
    generatedSecret = true;
  }

  // Every other variable is checked before a database is started for nothing.
  validateEnv({ ...env, DATABASE_URL: env.DATABASE_URL ?? 'postgres://embedded' });

  let embedded: EmbeddedDatabase | undefined;
  if (!env.DATABASE_URL) {
    embedded = await startEmbeddedDatabase({
      dataDir: join(dataDir, 'postgres'),
      port: Number(env.EMBEDDED_PG_PORT ?? 54329),
      database: 'netra',
    });
    env.DATABASE_URL = embedded.url;
  }
  return { embedded, generatedSecret };
}

function readOrCreateSecret(file: string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(join(file, '..'), { recursive: true });
  const secret = randomBytes(32).toString('hex');
  writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}
