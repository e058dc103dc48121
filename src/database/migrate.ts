import { DataSource, DataSourceOptions } from 'typeorm';

// An arbitrary, fixed key: every instance of this app asks for the same lock.
const MIGRATION_LOCK = 7_340_917_261;

// Runs the pending migrations while holding a PostgreSQL advisory lock, so instances that start
// together take turns: the first migrates, the others wait and find nothing left to do. On a data
// source of its own, without the app's query timeouts: a migration (or the wait for another
// instance's) may take longer than any query of the app.
export async function migrateUnderLock(options: DataSourceOptions): Promise<void> {
  const db = await new DataSource({
    ...options,
    extra: { max: 2 },
  }).initialize();
  try {
    const runner = db.createQueryRunner();
    try {
      await runner.connect();
      await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      try {
        await db.runMigrations({ transaction: 'each' });
      } finally {
        await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
      }
    } finally {
      await runner.release();
    }
  } finally {
    await db.destroy();
  }
}
