import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EmbeddedDatabase, startEmbeddedDatabase } from './embedded-database';

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
