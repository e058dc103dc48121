import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { JobWithMetadata } from 'pg-boss';
import { EnvironmentVariables } from '../config/env.validation';
import { withLogContext } from '../logging/log-context';
import { Lifecycle } from '../health/lifecycle';
import { RunJobData, RunQueue } from '../runs/run.queue';
import { StatePersistenceService } from '../runs/state-persistence.service';
import { SupervisorAgent } from './supervisor.agent';

// This instance's share of the work (APP_ROLE all or worker): WORKER_CONCURRENCY runs at a time,
// taken from the queue. On shutdown it stops taking jobs, lets the running ones finish within
// SHUTDOWN_GRACE_MS, and hands the rest back to the queue for another instance to continue.
@Injectable()
export class RunWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(RunWorker.name);

  constructor(
    private readonly queue: RunQueue,
    private readonly supervisor: SupervisorAgent,
    private readonly persistence: StatePersistenceService,
    private readonly lifecycle: Lifecycle,
    private readonly config: ConfigService<EnvironmentVariables, true>,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const concurrency = this.config.get('WORKER_CONCURRENCY', { infer: true });
    await this.queue.work(concurrency, (job) =>
      withLogContext({ run_id: job.data.run_id, user_id: job.data.user_id }, () =>
        this.supervisor.execute(job),
      ),
    );
    await this.queue.workSpent((job) => this.spent(job));
  }

  async onModuleDestroy(): Promise<void> {
    this.lifecycle.drain();
    await this.queue.drain(this.config.get('SHUTDOWN_GRACE_MS', { infer: true }));
  }

  // A job whose retries are spent: the run ends failed (see StatePersistenceService.endSpent).
  private async spent(job: JobWithMetadata<RunJobData>): Promise<void> {
    const { run_id: runId, user_id: userId } = job.data;
    this.logger.error(`Run ${runId} failed: its job ran out of retries`);
    if (job.sourceId) await this.persistence.endSpent({ userId, runId }, job.sourceId);
  }
}
