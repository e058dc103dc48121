import type { Pool } from 'pg';
import { DataSource } from 'typeorm';

// A statement outside any transaction, straight on the pool TypeORM made: DataSource.query builds
// a query runner and an entity manager for every call, which the reads made per request and per
// event (a run's status, a feed's events) do not need. Rows come back exactly as TypeORM's
// query() returns them (the same pg client and type parsers); errors are pg's own (with their
// SQLSTATE, as isDatabaseUnavailable reads them).
export async function plainQuery<T>(
  db: DataSource,
  text: string,
  params: unknown[] = [],
): Promise<T[]> {
  const pool = (db.driver as unknown as { master: Pool }).master;
  const result = await pool.query(text, params);
  return result.rows as T[];
}
