import { MigrationInterface, QueryRunner } from 'typeorm';

// A run may name a webhook, POSTed when it ends; every attempt to deliver it is recorded.
export class Webhooks1764600000000 implements MigrationInterface {
  name = 'Webhooks1764600000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE runs ADD COLUMN webhook_url text`);
    await q.query(`
      CREATE TABLE webhook_deliveries (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        run_id uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        user_id varchar(200) NOT NULL,
        url text NOT NULL,
        attempt integer NOT NULL,
        status_code integer,
        error text,
        duration_ms integer NOT NULL,
        delivered boolean NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `CREATE INDEX webhook_deliveries_user_run_idx ON webhook_deliveries (user_id, run_id)`,
    );
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE webhook_deliveries`);
    await q.query(`ALTER TABLE runs DROP COLUMN webhook_url`);
  }
}
