import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ACTIVE_STATUSES } from '../runs/run-status';
import { databaseUp, queueDepth, registry, runsByStatus } from './metrics';

// The metrics as Prometheus text, with the figures that belong to all instances (active runs by
// status, the queue's depth) read from the database at the scrape.
@Injectable()
export class MetricsSnapshot {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  get contentType(): string {
    return registry.contentType;
  }

  // While the database is away the process's own figures are still served; the database's are
  // left out (not shown stale), and netra_database_up says why.
  async text(): Promise<string> {
    try {
      const rows = await this.db.query<{ status: string; n: number }[]>(
        `SELECT status, count(*)::int AS n FROM runs WHERE status = ANY($1) GROUP BY status`,
        [ACTIVE_STATUSES],
      );
      for (const status of ACTIVE_STATUSES) {
        runsByStatus.set({ status }, rows.find((r) => r.status === status)?.n ?? 0);
      }
      queueDepth.set(rows.find((r) => r.status === 'queued')?.n ?? 0);
      databaseUp.set(1);
    } catch {
      runsByStatus.reset();
      queueDepth.reset();
      databaseUp.set(0);
    }
    return registry.metrics();
  }
}
