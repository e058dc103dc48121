import { MigrationInterface, QueryRunner } from 'typeorm';

// Single-use tickets that stand for a bearer token where a browser cannot send one, and the rate
// limits every instance counts together.
export class StreamTickets1764300000000 implements MigrationInterface {
  name = 'StreamTickets1764300000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE stream_tickets (
        ticket_hash bytea PRIMARY KEY,
        user_id varchar(200) NOT NULL,
        token_expires_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX stream_tickets_expiry_idx ON stream_tickets (expires_at)`);
    await q.query(`
      CREATE TABLE rate_limits (
        key varchar(300) PRIMARY KEY,
        hits int NOT NULL,
        expires_at timestamptz NOT NULL
      )`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE rate_limits`);
    await q.query(`DROP TABLE stream_tickets`);
  }
}
