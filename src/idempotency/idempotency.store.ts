import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Tx } from '../database/transaction';

export interface StoredResponse {
  fingerprint: string;
  status: number;
  body: unknown;
}

// idempotency_keys: a user's key, what the request was (its fingerprint) and the answer it got.
@Injectable()
export class IdempotencyStore {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  // Takes the key for this request inside `tx`: true when it is new (or its earlier use expired),
  // false when it is in use. A concurrent request holding the same new key makes this wait until
  // that one commits (then false) or rolls back (then true): PostgreSQL's unique index does it.
  async take(
    tx: Tx,
    userId: string,
    key: string,
    fingerprint: string,
    ttlSeconds: number,
  ): Promise<boolean> {
    const rows = await tx.rows(
      `INSERT INTO idempotency_keys (user_id, key, fingerprint, expires_at)
       VALUES ($1, $2, $3, now() + make_interval(secs => $4))
       ON CONFLICT (user_id, key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint,
         expires_at = EXCLUDED.expires_at, created_at = now(), status_code = NULL, response = NULL
       WHERE idempotency_keys.expires_at <= now()
       RETURNING key`,
      [userId, key, fingerprint, ttlSeconds],
    );
    return rows.length > 0;
  }

  async record(tx: Tx, userId: string, key: string, status: number, body: unknown): Promise<void> {
    await tx.rows(
      `UPDATE idempotency_keys SET status_code = $3, response = $4::jsonb
       WHERE user_id = $1 AND key = $2 RETURNING key`,
      [userId, key, status, JSON.stringify(body ?? null)],
    );
  }

  async find(userId: string, key: string): Promise<StoredResponse | null> {
    const [row] = await this.db.query<
      { fingerprint: string; status_code: number | null; response: unknown }[]
    >(
      `SELECT fingerprint, status_code, response FROM idempotency_keys
       WHERE user_id = $1 AND key = $2 AND expires_at > now()`,
      [userId, key],
    );
    return row && row.status_code !== null
      ? { fingerprint: row.fingerprint, status: row.status_code, body: row.response }
      : null;
  }

  async deleteExpired(): Promise<number> {
    const result = await this.db
      .createQueryBuilder()
      .delete()
      .from('idempotency_keys')
      .where('expires_at <= now()')
      .execute();
    return result.affected ?? 0;
  }
}
