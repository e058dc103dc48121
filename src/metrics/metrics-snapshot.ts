import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ACTIVE_STATUSES } from '../runs/run-status';
import { queueDepth, registry, runsByStatus } from './metrics';

// The metrics as Prometheus text, with the figures that belong to all instances (active runs by
// status, the queue's depth) read from the database at the scrape.
@Injectable()
export class MetricsSnapshot {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  get contentType(): string {
    return registry.contentType;
  }

  async text(): Promise<string> {
    const rows = await this.db.query<{ status: string; n: number }[]>(
      `SELECT status, count(*)::int AS n FROM runs WHERE status = ANY($1) GROUP BY status`,
      [ACTIVE_STATUSES],
    );
    for (const status of ACTIVE_STATUSES) {
      runsByStatus.set({ status }, rows.find((r) => r.status === status)?.n ?? 0);
    }
    queueDepth.set(rows.find((r) => r.status === 'queued')?.n ?? 0);
    return registry.metrics();
  }
}
