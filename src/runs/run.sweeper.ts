import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Tx } from '../database/transaction';
import { ThreadStore } from '../threads/thread.store';
import { QUEUE_SCHEMA, RUN_QUEUE } from './run.queue';
import { RunStore } from './run.store';
import { StatePersistenceService } from './state-persistence.service';

const SWEEP_MS = 60_000;

interface Stranded {
  id: string;
  user_id: string;
  thread_id: string;
  job_id: string | null;
  job_state: string | null;
}
const BATCH = 100;

// The thread heads (first unfinished run of a thread) that should have a live job and have none:
// queued or running, with no job, or with one that ended (completed or cancelled) while the run
// did not, or one that failed for good long enough ago that its dead-letter handler should have
// ended the run (it was itself killed, or ran out of tries).
const STRANDED = `
  SELECT h.id, h.user_id, h.thread_id, h.job_id, j.state AS job_state FROM (
    SELECT DISTINCT ON (thread_id) id, user_id, thread_id, status, job_id
    FROM runs WHERE status IN ('queued', 'running', 'requires_action')
    ORDER BY thread_id, created_at, id
  ) h
  LEFT JOIN ${QUEUE_SCHEMA}.job j ON j.id = h.job_id AND j.name = '${RUN_QUEUE}'
  WHERE h.status IN ('queued', 'running')
    AND (h.job_id IS NULL OR j.id IS NULL OR j.state IN ('completed', 'cancelled')
         OR (j.state = 'failed' AND j.completed_on < now() - interval '10 minutes'))`;

// No run is left without a job, whatever happened: runs left by a version of the app that had no
// queue, or a job that ended without its run (it should not happen; this is the net under it).
// At start and every minute, on the instances that execute runs; each repair happens under the
// thread's lock and looks again first, so instances sweeping together send one job.
@Injectable()
export class RunSweeper implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(RunSweeper.name);
  private timer?: NodeJS.Timeout;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly persistence: StatePersistenceService,
    private readonly runs: RunStore,
    private readonly threads: ThreadStore,
  ) {}

  onApplicationBootstrap(): void {
    const sweep = () =>
      void this.sweep().catch((err: unknown) => {
        this.logger.warn(`Could not look for runs without a job: ${String(err)}`);
      });
    sweep();
    this.timer = setInterval(sweep, SWEEP_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  // How many runs got a job.
  async sweep(): Promise<number> {
    const stranded = await this.db.query<Stranded[]>(`${STRANDED} LIMIT ${BATCH}`);
    let repaired = 0;
    for (const head of stranded) {
      if (head.job_state === 'failed') {
        await this.persistence.endSpent({ userId: head.user_id, runId: head.id }, head.job_id!);
        this.logger.warn(`Run ${head.id} failed for good; its job is removed`);
        repaired += 1;
        continue;
      }
      const sent = await this.persistence.atomically(async (tx: Tx) => {
        await this.threads.lockForRuns(tx, head.user_id, head.thread_id);
        const [still] = await tx.rows(`${STRANDED} AND h.id = $1`, [head.id]);
        if (!still) return false;
        const run = await this.runs.findByRef(head.user_id, head.id, tx);
        if (!run) return false;
        // The head, with no live job (looked at again under the lock): a new job starts it, or
        // continues it from its checkpoint.
        await this.persistence.dispatch(tx, run);
        return true;
      });
      if (sent) {
        repaired += 1;
        this.logger.warn(`Run ${head.id} had no live job; sent one`);
      }
    }
    return repaired;
  }
}
