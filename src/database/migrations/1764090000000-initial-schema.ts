import { MigrationInterface, QueryRunner } from 'typeorm';

export class InitialSchema1764090000000 implements MigrationInterface {
  name = 'InitialSchema1764090000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE threads (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id varchar(200) NOT NULL,
        title varchar(500),
        metadata jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        deleted_at timestamptz
      )`);
    await q.query(
      `CREATE INDEX threads_user_recent_idx ON threads (user_id, created_at DESC) WHERE deleted_at IS NULL`,
    );

    await q.query(`
      CREATE TABLE runs (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id varchar(200) NOT NULL,
        thread_id uuid NOT NULL REFERENCES threads(id),
        client_run_id varchar(200),
        query text NOT NULL,
        status varchar(16) NOT NULL
          CHECK (status IN ('queued', 'running', 'complete', 'failed', 'cancelled')),
        result text,
        error text,
        last_seq int NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        finished_at timestamptz
      )`);
    await q.query(
      `CREATE UNIQUE INDEX runs_user_client_run_id_uq ON runs (user_id, client_run_id) WHERE client_run_id IS NOT NULL`,
    );
    // One active run per thread, enforced by the database so it holds across app instances.
    await q.query(
      `CREATE UNIQUE INDEX runs_one_active_per_thread_uq ON runs (thread_id) WHERE status IN ('queued', 'running')`,
    );
    await q.query(`CREATE INDEX runs_thread_recent_idx ON runs (thread_id, created_at DESC)`);
    await q.query(
      `CREATE INDEX runs_active_idx ON runs (status) WHERE status IN ('queued', 'running')`,
    );

    await q.query(`
      CREATE TABLE messages (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id varchar(200) NOT NULL,
        thread_id uuid NOT NULL REFERENCES threads(id),
        run_id uuid REFERENCES runs(id),
        role varchar(16) NOT NULL CHECK (role IN ('user', 'assistant')),
        content text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await q.query(`CREATE INDEX messages_thread_idx ON messages (thread_id, created_at)`);

    await q.query(`
      CREATE TABLE run_events (
        run_id uuid NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        seq int NOT NULL CHECK (seq > 0),
        user_id varchar(200) NOT NULL,
        thread_id uuid NOT NULL,
        type varchar(64) NOT NULL,
        data jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (run_id, seq)
      )`);

    await q.query(`
      CREATE TABLE run_state (
        run_id uuid PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
        user_id varchar(200) NOT NULL,
        state jsonb NOT NULL,
        version int NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE run_state`);
    await q.query(`DROP TABLE run_events`);
    await q.query(`DROP TABLE messages`);
    await q.query(`DROP TABLE runs`);
    await q.query(`DROP TABLE threads`);
  }
}
