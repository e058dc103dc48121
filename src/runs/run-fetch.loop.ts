import { Logger } from '@nestjs/common';
import type { Job } from 'pg-boss';

// What the loop needs of the queue (RunQueue gives it these, over pg-boss).
export interface FetchSource<T> {
  // Up to `limit` jobs, now active under this worker.
  fetch(limit: number): Promise<Job<T>[]>;
  // Refreshes the jobs' heartbeats; the ids still held (the others were taken back).
  touch(jobs: Job<T>[]): Promise<Set<string>>;
  // The handler returned: the job is done (a no-op when its handler completed it already).
  complete(job: Job<T>): Promise<void>;
  // The handler threw, or the job is handed back: the queue retries it (elsewhere, perhaps).
  fail(job: Job<T>, error: unknown): Promise<void>;
  // The job's execution is over, however it ended: anything kept for it can go.
  forget?(job: Job<T>): void;
}

interface Held<T> {
  job: Job<T>;
  claim: AbortController;
  done: Promise<void>;
  // Failed back by a drain: the handler's own ending settles nothing.
  handedBack: boolean;
}

// One fetch of a job: its id and the attempt (retryCount) the worker holds.
export function attemptKey(job: Pick<Job<unknown>, 'id' | 'retryCount'>): string {
  return `${job.id}:${job.retryCount}`;
}

// When nothing wakes it, the loop looks for jobs this often anyway: a retry whose delay ran out,
// a notification lost while the listener reconnected.
const POLL_MS = 2_000;

// One fetch loop per instance: it asks the queue for as many jobs as it has free slots, in one
// statement, and hands each to its own execution. It fetches when a job is announced (once per
// announcement, however many slots are free), when a slot frees while the queue had more than it
// took, and every POLL_MS; an idle instance costs one fetch per POLL_MS, not one per slot. The
// heartbeats of all the jobs it holds are refreshed together, and a job taken back (its heartbeat
// lapsed and another instance has it) has its execution aborted.
export class RunFetchLoop<T> {
  private readonly logger = new Logger(RunFetchLoop.name);
  private readonly held = new Map<string, Held<T>>();
  private stopped = false;
  private wanted = false;
  private wake?: () => void;
  private heartbeat?: NodeJS.Timeout;
  private loop?: Promise<void>;
  // The last fetch filled every free slot: the queue may hold more.
  private saturated = false;

  constructor(
    private readonly source: FetchSource<T>,
    private readonly concurrency: number,
    private readonly handler: (job: Job<T>) => Promise<void>,
    private readonly heartbeatMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    this.loop = this.run();
    this.heartbeat = setInterval(() => void this.beat(), this.heartbeatMs);
    this.heartbeat.unref();
  }

  // A job was announced (or announcements may have been lost): fetch once more.
  poke(): void {
    this.wanted = true;
    this.wake?.();
  }

  get running(): number {
    return this.held.size;
  }

  // Stops fetching and waits up to `graceMs` for the executions in hand; the ones still running
  // then are aborted and failed back to the queue, where another instance continues them.
  async drain(graceMs: number): Promise<void> {
    await this.stop();
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([Promise.all([...this.held.values()].map((h) => h.done)), grace]);
    clearTimeout(timer);
    await Promise.all([...this.held.values()].map((h) => this.handBack(h)));
  }

  // Stops fetching, and aborts whatever still runs (their jobs go back by their heartbeats).
  async close(): Promise<void> {
    await this.stop();
    for (const h of this.held.values()) h.claim.abort(new Error('the worker stopped'));
  }

  private async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.heartbeat);
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const free = this.concurrency - this.held.size;
      this.wanted = false;
      if (free > 0) {
        try {
          const jobs = await this.source.fetch(free);
          this.saturated = jobs.length === free;
          for (const job of jobs) this.execute(job);
        } catch (err) {
          this.onError(err);
        }
      }
      if (this.stopped) return;
      if (this.wanted || (this.saturated && this.held.size < this.concurrency)) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, POLL_MS);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  private execute(job: Job<T>): void {
    const claim = new AbortController();
    job.signal = claim.signal;
    const held: Held<T> = { job, claim, done: Promise.resolve(), handedBack: false };
    // By attempt: a job taken back and fetched again here while its old execution still unwinds
    // is a second execution, not the same one.
    const key = attemptKey(job);
    this.held.set(key, held);
    held.done = Promise.resolve()
      .then(() => this.handler(job))
      .then(
        () => (held.handedBack ? undefined : this.source.complete(job)),
        (err: unknown) => (held.handedBack ? undefined : this.source.fail(job, err)),
      )
      .catch((err: unknown) => this.onError(err))
      .finally(() => {
        this.source.forget?.(job);
        if (this.held.get(key) === held) this.held.delete(key);
        if (this.saturated) this.wake?.();
      });
  }

  private async handBack(held: Held<T>): Promise<void> {
    held.handedBack = true;
    held.claim.abort(new Error('the worker is shutting down'));
    try {
      await this.source.fail(held.job, new Error('handed back at shutdown'));
    } catch (err) {
      // Its heartbeat lapses instead, and the job moves all the same.
      this.logger.warn(`Could not hand back job ${held.job.id}: ${String(err)}`);
    }
  }

  private async beat(): Promise<void> {
    const held = [...this.held.values()].filter((h) => !h.claim.signal.aborted && !h.handedBack);
    if (held.length === 0) return;
    let kept: Set<string>;
    try {
      kept = await this.source.touch(held.map((h) => h.job));
    } catch (err) {
      // A heartbeat that could not run says nothing about the claims: nothing is aborted.
      this.onError(err);
      return;
    }
    for (const h of held) {
      if (!kept.has(h.job.id) && !h.handedBack) {
        h.claim.abort(new Error(`job ${h.job.id} is no longer held by this worker`));
      }
    }
  }
}
