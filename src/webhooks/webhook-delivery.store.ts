import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { isUuid } from '../common/ids';

export interface DeliveryAttempt {
  runId: string;
  userId: string;
  url: string;
  attempt: number;
  statusCode: number | null;
  error: string | null;
  ms: number;
  delivered: boolean;
}

interface DeliveryRow {
  id: string;
  attempt: number;
  url: string;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  delivered: boolean;
  created_at: Date;
}

// Every attempt to deliver a run's webhook, kept for the run's owner to read. Singleton: every
// method takes the owner, and every query filters by it.
@Injectable()
export class WebhookDeliveryStore {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async record(attempt: DeliveryAttempt): Promise<void> {
    await this.db.query(
      `INSERT INTO webhook_deliveries
         (run_id, user_id, url, attempt, status_code, error, duration_ms, delivered)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        attempt.runId,
        attempt.userId,
        attempt.url,
        attempt.attempt,
        attempt.statusCode,
        attempt.error,
        attempt.ms,
        attempt.delivered,
      ],
    );
  }

  list(userId: string, runId: string): Promise<DeliveryRow[]> {
    if (!isUuid(runId)) return Promise.resolve([]);
    return this.db.query<DeliveryRow[]>(
      `SELECT id, attempt, url, status_code, error, duration_ms, delivered, created_at
       FROM webhook_deliveries WHERE user_id = $1 AND run_id = $2 ORDER BY created_at, attempt`,
      [userId, runId],
    );
  }
}

export type { DeliveryRow };
