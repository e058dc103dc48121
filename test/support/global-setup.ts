import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedDatabase, startEmbeddedDatabase } from '../../src/config/embedded-database';
import { freePort } from './free-port';

declare global {
  var __NETRA_EMBEDDED_PG__: EmbeddedDatabase | undefined;
}

// One PostgreSQL for the whole run: DATABASE_URL when given (CI may point at a server), else an
// embedded one in a temp folder. Each test file then creates its own database in it.
export default async function globalSetup(): Promise<void> {
  // The medium and e2e projects both name this setup; Jest runs it once per project, in one process.
  if (globalThis.__NETRA_EMBEDDED_PG__) return;
  if (process.env.DATABASE_URL) {
    process.env.TEST_ADMIN_DATABASE_URL = process.env.DATABASE_URL;
    return;
  }
  const root = mkdtempSync(join(tmpdir(), 'netra-test-pg-'));
  chmodSync(root, 0o755); // the unprivileged postgres user must reach the data folder
  const db = await startEmbeddedDatabase({
    dataDir: join(root, 'data'),
    port: await freePort(),
    database: 'postgres',
  });
  globalThis.__NETRA_EMBEDDED_PG__ = db;
  process.env.TEST_ADMIN_DATABASE_URL = db.url;
}
