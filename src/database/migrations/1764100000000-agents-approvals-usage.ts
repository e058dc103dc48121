import { MigrationInterface, QueryRunner } from 'typeorm';

// Real agents: the run's chosen agent and model, token usage, the agent that wrote each event, a
// `requires_action` status while a tool call waits for a human, and the approvals themselves.
export class AgentsApprovalsUsage1764100000000 implements MigrationInterface {
  name = 'AgentsApprovalsUsage1764100000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE runs ADD COLUMN agent varchar(100) NOT NULL DEFAULT 'supervisor'`);
    await q.query(`ALTER TABLE runs ADD COLUMN model varchar(200)`);
    await q.query(`ALTER TABLE runs ADD COLUMN usage jsonb NOT NULL DEFAULT '{}'`);
    await q.query(`ALTER TABLE runs DROP CONSTRAINT runs_status_check`);
    await q.query(`
      ALTER TABLE runs ADD CONSTRAINT runs_status_check CHECK (status IN
        ('queued', 'running', 'requires_action', 'complete', 'failed', 'cancelled'))`);
    // A run waiting for approval still holds its thread.
    await q.query(`DROP INDEX runs_one_active_per_thread_uq`);
    await q.query(`
      CREATE UNIQUE INDEX runs_one_active_per_thread_uq ON runs (thread_id)
      WHERE status IN ('queued', 'running', 'requires_action')`);

    await q.query(
      `ALTER TABLE run_events ADD COLUMN agent_name varchar(100) NOT NULL DEFAULT 'supervisor'`,
    );

    await q.query(`
      CREATE TABLE run_interrupts (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        run_id uuid NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        user_id varchar(200) NOT NULL,
        call_id varchar(200) NOT NULL,
        agent_name varchar(100) NOT NULL,
        tool varchar(100) NOT NULL,
        arguments jsonb NOT NULL,
        status varchar(16) NOT NULL DEFAULT 'pending'
          CHECK (status IN ('pending', 'approved', 'rejected')),
        message text,
        decided_by varchar(200),
        decided_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (run_id, call_id)
      )`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE run_interrupts`);
    await q.query(`ALTER TABLE run_events DROP COLUMN agent_name`);
    await q.query(`DROP INDEX runs_one_active_per_thread_uq`);
    await q.query(`
      CREATE UNIQUE INDEX runs_one_active_per_thread_uq ON runs (thread_id)
      WHERE status IN ('queued', 'running')`);
    await q.query(`ALTER TABLE runs DROP CONSTRAINT runs_status_check`);
    await q.query(`
      ALTER TABLE runs ADD CONSTRAINT runs_status_check CHECK (status IN
        ('queued', 'running', 'complete', 'failed', 'cancelled'))`);
    await q.query(`ALTER TABLE runs DROP COLUMN usage`);
    await q.query(`ALTER TABLE runs DROP COLUMN model`);
    await q.query(`ALTER TABLE runs DROP COLUMN agent`);
  }
}
