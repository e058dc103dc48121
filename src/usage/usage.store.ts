import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

export interface UsageRow {
  thread_id: string;
  model: string;
  input_tokens: number;
  output_tokens: number;
}

export interface RunUsageRow {
  run_id: string;
  thread_id: string;
  created_at: Date;
  // null for a run that used no tokens (cancelled before its first model call).
  model: string | null;
  input_tokens: number;
  output_tokens: number;
}

// Reads the token usage kept on runs (runs.usage: tokens per model), always for one user.
@Injectable()
export class UsageStore {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  // Tokens per thread and model of the user's runs started in [from, to).
  async byThreadAndModel(userId: string, from: Date, to: Date): Promise<UsageRow[]> {
    return this.db.query<UsageRow[]>(
      `SELECT r.thread_id, m.key AS model,
              sum((m.value ->> 'input_tokens')::bigint)::float8 AS input_tokens,
              sum((m.value ->> 'output_tokens')::bigint)::float8 AS output_tokens
       FROM runs r CROSS JOIN LATERAL jsonb_each(r.usage) AS m
       WHERE r.user_id = $1 AND r.created_at >= $2 AND r.created_at < $3
       GROUP BY r.thread_id, m.key`,
      [userId, from, to],
    );
  }

  // Runs per thread started in [from, to), whatever they used.
  runsPerThread(userId: string, from: Date, to: Date): Promise<{ thread_id: string; n: number }[]> {
    return this.db.query<{ thread_id: string; n: number }[]>(
      `SELECT thread_id, count(*)::int AS n FROM runs
       WHERE user_id = $1 AND created_at >= $2 AND created_at < $3
       GROUP BY thread_id`,
      [userId, from, to],
    );
  }

  // Tokens per model of the newest `limit` runs started in [from, to).
  newestRuns(userId: string, from: Date, to: Date, limit: number): Promise<RunUsageRow[]> {
    return this.db.query<RunUsageRow[]>(
      `SELECT r.id AS run_id, r.thread_id, r.created_at, m.key AS model,
              COALESCE((m.value ->> 'input_tokens')::float8, 0) AS input_tokens,
              COALESCE((m.value ->> 'output_tokens')::float8, 0) AS output_tokens
       FROM (SELECT id, thread_id, created_at, usage FROM runs
             WHERE user_id = $1 AND created_at >= $2 AND created_at < $3
             ORDER BY created_at DESC, id LIMIT $4) AS r
       LEFT JOIN LATERAL jsonb_each(r.usage) AS m ON true
       ORDER BY r.created_at DESC, r.id`,
      [userId, from, to, limit],
    );
  }
}
