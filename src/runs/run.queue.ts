import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { PgBoss } from 'pg-boss';
import type { Db, Job, JobWithMetadata } from 'pg-boss';
import { EnvironmentVariables } from '../config/env.validation';
import { Tx } from '../database/transaction';
import { Run } from './run.entity';
import { attemptKey, RunFetchLoop } from './run-fetch.loop';
import { PgListener } from '../database/pg-listener';

export const RUN_QUEUE = 'runs';
// Where a run's job lands once its retries are spent (a run that keeps killing its worker, or an
// outage longer than the retries): its handler ends the run failed.
export const SPENT_RUN_QUEUE = 'runs_spent';
// pg-boss's schema; its job table (documented by pg-boss) is read by RunSweeper.
export const QUEUE_SCHEMA = 'pgboss';
const ERROR_LOG_EVERY_MS = 30_000;
// Announces a new run job to every instance's fetch loop, in the transaction that sends the job.
export const RUN_JOBS_CHANNEL = 'netra_run_jobs';

export interface RunJobData {
  run_id: string;
  user_id: string;
}

export type RunJob = Job<RunJobData>;

// The webhooks of ended runs, one job per run, retried with backoff (src/webhooks).
export const WEBHOOK_QUEUE = 'run_webhooks';

export interface WebhookJobData {
  run_id: string;
  user_id: string;
  url: string;
}

export type WebhookJob = Job<WebhookJobData>;

// The runs' queue: pg-boss 12 in the app's own PostgreSQL (schema `pgboss`), started and stopped
// with the app. A run's job is sent in the transaction that makes the run executable, so no crash
// can leave one without the other. Jobs are keyed by thread under key_strict_fifo: a thread's jobs
// never run at once. Per-job heartbeats hand a dead worker's runs to another instance. Run jobs are
// taken by one fetch loop per instance (RunFetchLoop), woken by RUN_JOBS_CHANNEL; pg-boss's own
// workers (webhooks, spent runs) poll.
@Injectable()
export class RunQueue implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(RunQueue.name);
  private readonly boss: PgBoss;
  private started = false;
  private loop?: RunFetchLoop<RunJobData>;
  // Jobs (id:retryCount) their run's ending transaction completed, until their handler returns.
  private readonly completed = new Set<string>();
  // When the queue last said it failed, and how often it failed since.
  private lastLogged = 0;
  private unlogged = 0;

  constructor(
    private readonly config: ConfigService<EnvironmentVariables, true>,
    private readonly listener: PgListener,
  ) {
    const monitor = config.get('QUEUE_MONITOR_SECONDS', { infer: true });
    const concurrency = config.get('WORKER_CONCURRENCY', { infer: true });
    this.boss = new PgBoss({
      connectionString: config.get('DATABASE_URL', { infer: true }),
      schema: QUEUE_SCHEMA,
      application_name: 'netra-queue',
      // Fetches, heartbeats, upkeep and the webhook workers, plus every run ending at once settling
      // its job: sized by the runs in hand, and patient, so load never looks like a lost worker.
      max: 4 + Math.ceil(concurrency / 10),
      connectionTimeoutMillis: 10_000,
      // The run jobs' fetch loop hears of jobs on the instance's listener (RUN_JOBS_CHANNEL);
      // the other queues poll.
      useListenNotify: false,
      // How often a stale heartbeat is looked for: a dead worker's runs move within
      // RUN_HEARTBEAT_SECONDS plus this.
      monitorIntervalSeconds: monitor,
      superviseIntervalSeconds: monitor,
      instanceName: `netra-${config.get('APP_ROLE', { infer: true })}`,
    });
    // Without a listener an 'error' event would throw; a queue that cannot reach the database
    // (an outage) keeps trying by itself, and every one of its workers says so each poll: one line
    // every 30 s is enough.
    this.boss.on('error', (err: Error) => this.quietly(err));
  }

  private quietly(err: Error): void {
    const now = Date.now();
    if (now - this.lastLogged < ERROR_LOG_EVERY_MS) {
      this.unlogged += 1;
      return;
    }
    const more = this.unlogged > 0 ? ` (and ${this.unlogged} more since the last one)` : '';
    this.logger.warn(`Queue: ${err.message}${more}`);
    this.lastLogged = now;
    this.unlogged = 0;
  }

  async onModuleInit(): Promise<void> {
    await this.boss.start();
    const webhooks = {
      retryLimit: this.config.get('WEBHOOK_RETRIES', { infer: true }),
      retryDelay: this.config.get('WEBHOOK_RETRY_DELAY_SECONDS', { infer: true }),
      retryBackoff: true,
      retryDelayMax: 600,
    };
    await this.boss.createQueue(WEBHOOK_QUEUE, webhooks);
    await this.boss.updateQueue(WEBHOOK_QUEUE, webhooks);
    const heartbeatSeconds = this.config.get('RUN_HEARTBEAT_SECONDS', { infer: true });
    await this.boss.createQueue(SPENT_RUN_QUEUE, {
      retryLimit: 5,
      retryDelay: 5,
      heartbeatSeconds,
    });
    await this.boss.updateQueue(SPENT_RUN_QUEUE, { heartbeatSeconds });
    const options = {
      retryLimit: 20,
      retryDelay: 1,
      retryBackoff: true,
      retryDelayMax: 30,
      // An upper bound on one execution; a dead worker is found by its heartbeat long before.
      expireInSeconds: 3_600,
      heartbeatSeconds,
      deadLetter: SPENT_RUN_QUEUE,
    };
    await this.boss.createQueue(RUN_QUEUE, { policy: 'key_strict_fifo', ...options });
    // An existing queue keeps its settings on createQueue; bring them up to this configuration.
    await this.boss.updateQueue(RUN_QUEUE, { notify: false, ...options });
    this.started = true;
  }

  async onApplicationShutdown(): Promise<void> {
    this.started = false;
    await this.loop?.close();
    await this.boss.stop({ graceful: false, close: true }).catch((err: unknown) => {
      this.logger.warn(`Queue stop: ${String(err)}`);
    });
  }

  get ready(): boolean {
    return this.started;
  }

  // Sends the job that executes the run, inside the caller's transaction.
  async dispatch(tx: Tx, run: Pick<Run, 'id' | 'userId' | 'threadId'>): Promise<string> {
    const data: RunJobData = { run_id: run.id, user_id: run.userId };
    const id = await this.boss.send(RUN_QUEUE, data, { singletonKey: run.threadId, db: over(tx) });
    if (!id) throw new Error(`the queue did not take the job of run ${run.id}`);
    await tx.rows(`SELECT pg_notify('${RUN_JOBS_CHANNEL}', '')`);
    return id;
  }

  // Sends the job that delivers a run's webhook, inside the transaction that ends the run.
  async sendWebhook(tx: Tx, data: WebhookJobData): Promise<void> {
    await this.boss.send(WEBHOOK_QUEUE, data, { db: over(tx) });
  }

  async workWebhooks(handler: (job: WebhookJob) => Promise<void>): Promise<void> {
    await this.boss.work<WebhookJobData>(
      WEBHOOK_QUEUE,
      { localConcurrency: 2, pollingIntervalSeconds: 1 },
      async ([job]) => handler(job),
    );
  }

  // Whether this fetch of the job is still the live one (active, this retryCount), checked and
  // its row locked (it refreshes the heartbeat) in the caller's transaction. A worker that stalled
  // after fetching finds it retried elsewhere and must not take the run back.
  async holds(tx: Tx, job: Pick<RunJob, 'id' | 'retryCount'>): Promise<boolean> {
    const touched = (await this.boss.touch(
      RUN_QUEUE,
      [{ id: job.id, retryCount: job.retryCount }],
      {
        db: over(tx),
      },
    )) as { affected?: number };
    return touched.affected === 1;
  }

  // Completes the job inside the transaction that ends its run, so the thread's next job can be
  // fetched the moment that commits (and the fetch loop need not complete it again).
  async completeIn(tx: Tx, job: Pick<RunJob, 'id' | 'retryCount'>): Promise<void> {
    await this.boss.complete(RUN_QUEUE, { id: job.id, retryCount: job.retryCount }, undefined, {
      db: over(tx),
    });
    tx.afterCommit(() => this.completed.add(attemptKey(job)));
  }

  // Executes run jobs, `concurrency` at a time, from one fetch loop (see RunFetchLoop).
  async work(concurrency: number, handler: (job: RunJob) => Promise<void>): Promise<void> {
    const attempt = (job: RunJob) => ({ id: job.id, retryCount: job.retryCount });
    const source = {
      fetch: (limit: number) => this.boss.fetch<RunJobData>(RUN_QUEUE, { batchSize: limit }),
      touch: async (jobs: RunJob[]) => {
        const touched = (await this.boss.touch(RUN_QUEUE, jobs.map(attempt))) as {
          settled?: string[];
        };
        return new Set(touched.settled ?? jobs.map((job) => job.id));
      },
      complete: async (job: RunJob) => {
        if (this.completed.delete(attemptKey(job))) return;
        await this.boss.complete(RUN_QUEUE, attempt(job));
      },
      forget: (job: RunJob) => this.completed.delete(attemptKey(job)),
      fail: async (job: RunJob, error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        await this.boss.fail(RUN_QUEUE, attempt(job), { message });
      },
    };
    const heartbeatMs = (this.config.get('RUN_HEARTBEAT_SECONDS', { infer: true }) * 1000) / 2;
    const loop = new RunFetchLoop(source, concurrency, handler, heartbeatMs, (err) =>
      this.quietly(err instanceof Error ? err : new Error(String(err))),
    );
    await this.listener.listen(RUN_JOBS_CHANNEL, {
      onNotify: () => loop.poke(),
      onResync: () => loop.poke(),
    });
    this.loop = loop;
    loop.start();
  }

  async workSpent(handler: (job: JobWithMetadata<RunJobData>) => Promise<void>): Promise<void> {
    await this.boss.work(
      SPENT_RUN_QUEUE,
      { includeMetadata: true, pollingIntervalSeconds: 5 },
      async ([job]: JobWithMetadata<RunJobData>[]) => handler(job),
    );
  }

  // A spent job holds its thread's key (key_strict_fifo) until it is gone.
  async forget(jobId: string): Promise<void> {
    await this.boss.deleteJob(RUN_QUEUE, jobId);
  }

  // Stops taking jobs and waits up to `graceMs` for the running ones; the jobs still running then are
  // failed back to the queue (another instance continues them from their checkpoints) and their
  // handlers' signals aborted. The pool stays open for the app's last requests.
  async drain(graceMs: number): Promise<void> {
    await Promise.all([
      this.loop?.drain(graceMs),
      this.boss.stop({ graceful: true, timeout: graceMs, close: false }),
    ]);
  }
}

// pg-boss statements on the caller's transaction.
function over(tx: Tx): Db {
  return {
    executeSql: async (text: string, values?: unknown[]) => ({ rows: await tx.rows(text, values) }),
  };
}
