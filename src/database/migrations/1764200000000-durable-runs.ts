import { MigrationInterface, QueryRunner } from 'typeorm';

// Durable runs on several instances: the claim number that fences a run's writers, the queue job
// that carries it, several runs queued on one thread (one executing at a time), and the
// Idempotency-Key store shared by both channels.
export class DurableRuns1764200000000 implements MigrationInterface {
  name = 'DurableRuns1764200000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE runs ADD COLUMN attempt int NOT NULL DEFAULT 0`);
    await q.query(`ALTER TABLE runs ADD COLUMN job_id uuid`);
    // Runs may now wait their turn on a thread (multitask_strategy enqueue); still only one of them
    // executes or waits for an approval at a time.
    await q.query(`DROP INDEX runs_one_active_per_thread_uq`);
    await q.query(`
      CREATE UNIQUE INDEX runs_one_executing_per_thread_uq ON runs (thread_id)
      WHERE status IN ('running', 'requires_action')`);
    await q.query(`
      CREATE INDEX runs_thread_active_idx ON runs (thread_id, created_at, id)
      WHERE status IN ('queued', 'running', 'requires_action')`);
    await q.query(`DROP INDEX runs_active_idx`);
    // A thread's runs execute in created_at order; the time a run is written under the thread's
    // lock, not the start of its transaction (which may have waited for the lock behind another).
    await q.query(`ALTER TABLE runs ALTER COLUMN created_at SET DEFAULT clock_timestamp()`);

    await q.query(`
      CREATE TABLE idempotency_keys (
        user_id varchar(200) NOT NULL,
        key varchar(255) NOT NULL,
        fingerprint varchar(64) NOT NULL,
        status_code int,
        response jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        PRIMARY KEY (user_id, key)
      )`);
    await q.query(`CREATE INDEX idempotency_keys_expiry_idx ON idempotency_keys (expires_at)`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE idempotency_keys`);
    await q.query(`ALTER TABLE runs ALTER COLUMN created_at SET DEFAULT now()`);
    await q.query(
      `CREATE INDEX runs_active_idx ON runs (status) WHERE status IN ('queued', 'running')`,
    );
    await q.query(`DROP INDEX runs_thread_active_idx`);
    await q.query(`DROP INDEX runs_one_executing_per_thread_uq`);
    await q.query(`
      CREATE UNIQUE INDEX runs_one_active_per_thread_uq ON runs (thread_id)
      WHERE status IN ('queued', 'running', 'requires_action')`);
    await q.query(`ALTER TABLE runs DROP COLUMN job_id`);
    await q.query(`ALTER TABLE runs DROP COLUMN attempt`);
  }
}
