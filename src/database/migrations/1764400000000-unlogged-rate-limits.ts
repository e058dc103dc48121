import { MigrationInterface, QueryRunner } from 'typeorm';

// The shared rate-limit counters skip the write-ahead log: a run start's counter upsert then
// commits without waiting for a disk flush (it was one of the start's two). What an unlogged table
// gives up is its rows after a PostgreSQL crash, or on a replica after a failover: there the
// counters start again from zero, which a rate limit can afford.
export class UnloggedRateLimits1764400000000 implements MigrationInterface {
  name = 'UnloggedRateLimits1764400000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE rate_limits SET UNLOGGED`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE rate_limits SET LOGGED`);
  }
}
