import { MigrationInterface, QueryRunner } from 'typeorm';

// A thread may carry its client's own id, as a run may: protocols whose clients choose thread ids
// (AG-UI's threadId, the Agent Protocol's thread_id) name a thread by it. Unique per user among
// live threads, so two users' clients may choose the same id and each gets a thread of their own
// (nothing tells one user that another's id exists).
export class ClientThreadIds1764500000000 implements MigrationInterface {
  name = 'ClientThreadIds1764500000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE threads ADD COLUMN client_thread_id varchar(200)`);
    await q.query(
      `CREATE UNIQUE INDEX threads_user_client_thread_id_uq ON threads (user_id, client_thread_id)
         WHERE client_thread_id IS NOT NULL AND deleted_at IS NULL`,
    );
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX threads_user_client_thread_id_uq`);
    await q.query(`ALTER TABLE threads DROP COLUMN client_thread_id`);
  }
}
