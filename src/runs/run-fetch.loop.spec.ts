import type { Job } from 'pg-boss';
import { FetchSource, RunFetchLoop } from './run-fetch.loop';
import { Deferred, deferred } from '../../test/fixtures/agent-loop.fixture';

interface Data {
  n: number;
}

// A queue in memory: `ready` jobs wait to be fetched; every call is recorded.
class Source implements FetchSource<Data> {
  ready: Job<Data>[] = [];
  fetches: number[] = [];
  completed: string[] = [];
  failed: string[] = [];
  // Attempts (id:retryCount) the next heartbeat no longer finds held.
  lost = new Set<string>();

  add(count: number): void {
    for (let i = 0; i < count; i += 1) {
      const n = this.ready.length + this.completed.length + this.failed.length;
      this.ready.push({ id: `job-${n}`, data: { n }, retryCount: 0 } as Job<Data>);
    }
  }
  fetch(limit: number): Promise<Job<Data>[]> {
    this.fetches.push(limit);
    return Promise.resolve(this.ready.splice(0, limit));
  }
  // As pg-boss's touch: fenced by attempt, answering the ids it refreshed.
  touch(jobs: Job<Data>[]): Promise<Set<string>> {
    const kept = jobs.filter((j) => !this.lost.has(`${j.id}:${j.retryCount}`));
    return Promise.resolve(new Set(kept.map((j) => j.id)));
  }
  complete(job: Job<Data>): Promise<void> {
    this.completed.push(job.id);
    return Promise.resolve();
  }
  fail(job: Job<Data>): Promise<void> {
    this.failed.push(job.id);
    return Promise.resolve();
  }
}

describe('RunFetchLoop', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  // A loop whose handler waits for the test to finish each job.
  function setup(concurrency: number) {
    const source = new Source();
    const running = new Map<string, Deferred>();
    const signals = new Map<string, AbortSignal>();
    const errors: unknown[] = [];
    const loop = new RunFetchLoop<Data>(
      source,
      concurrency,
      (job) => {
        const d = deferred();
        running.set(job.id, d);
        signals.set(job.id, job.signal);
        return d.promise;
      },
      1_000,
      (err) => errors.push(err),
    );
    return { source, running, signals, errors, loop };
  }

  it('fetches as many jobs as it has free slots, in one call, and no more while full', async () => {
    const { source, running, loop } = setup(3);
    source.add(5);
    loop.start();
    await jest.advanceTimersByTimeAsync(0);

    expect(source.fetches).toEqual([3]);
    expect([...running.keys()]).toEqual(['job-0', 'job-1', 'job-2']);

    loop.poke();
    await jest.advanceTimersByTimeAsync(5_000);
    expect(source.fetches).toEqual([3]); // full: announcements and polls fetch nothing

    running.get('job-1')!.resolve();
    await jest.advanceTimersByTimeAsync(0);
    expect(source.completed).toEqual(['job-1']);
    expect(source.fetches).toEqual([3, 1]); // the queue had more: the freed slot fetched at once
    expect(running.has('job-3')).toBe(true);
    await loop.close();
  });

  it('fetches once per announcement when idle, and otherwise only every poll interval', async () => {
    const { source, running, loop } = setup(10);
    loop.start();
    await jest.advanceTimersByTimeAsync(0);
    expect(source.fetches).toEqual([10]);

    source.add(1);
    loop.poke();
    loop.poke();
    await jest.advanceTimersByTimeAsync(0);
    expect(source.fetches).toEqual([10, 10]);
    expect(running.has('job-0')).toBe(true);

    await jest.advanceTimersByTimeAsync(1_999);
    expect(source.fetches).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(1);
    expect(source.fetches).toEqual([10, 10, 9]);
    await loop.close();
  });

  it('fails a job whose handler threw, for the queue to retry', async () => {
    const { source, running, loop } = setup(2);
    source.add(1);
    loop.start();
    await jest.advanceTimersByTimeAsync(0);

    running.get('job-0')!.reject(new Error('database away'));
    await jest.advanceTimersByTimeAsync(0);

    expect(source.failed).toEqual(['job-0']);
    expect(source.completed).toEqual([]);
    await loop.close();
  });

  it('aborts the execution of a job its heartbeat no longer holds', async () => {
    const { source, signals, loop } = setup(2);
    source.add(2);
    loop.start();
    await jest.advanceTimersByTimeAsync(0);

    source.lost.add('job-1:0');
    await jest.advanceTimersByTimeAsync(1_000);

    expect(signals.get('job-0')!.aborted).toBe(false);
    expect(signals.get('job-1')!.aborted).toBe(true);
    await loop.close();
  });

  it('keeps a job fetched again (its next attempt) apart from its old execution still unwinding', async () => {
    const source = new Source();
    const signals = new Map<string, AbortSignal>();
    const handlers: Deferred[] = [];
    const started: number[] = [];
    const loop = new RunFetchLoop<Data>(
      source,
      3,
      (job) => {
        const d = deferred();
        handlers.push(d);
        started.push(job.retryCount);
        signals.set(`${job.id}:${job.retryCount}`, job.signal);
        return d.promise;
      },
      1_000,
      () => undefined,
    );
    source.add(1);
    loop.start();
    await jest.advanceTimersByTimeAsync(0);
    // Its heartbeat lapsed: the queue hands the same job out again, one attempt on.
    source.ready.push({ id: 'job-0', data: { n: 0 }, retryCount: 1 } as Job<Data>);
    source.lost.add('job-0:0');
    await jest.advanceTimersByTimeAsync(2_000);
    expect(started).toEqual([0, 1]);
    expect(loop.running).toBe(2);

    handlers[0].reject(new Error('aborted'));
    await jest.advanceTimersByTimeAsync(0);
    expect(loop.running).toBe(1); // the new attempt is still held, and its heartbeat goes on
    await jest.advanceTimersByTimeAsync(1_000);
    expect(signals.get('job-0:1')!.aborted).toBe(false);
    expect(source.failed).toEqual(['job-0']); // the old attempt's end, fenced by pg-boss
    await loop.close();
  });

  it('drains: waits for the jobs in hand within the grace, then hands the rest back', async () => {
    const { source, running, signals, loop } = setup(3);
    source.add(2);
    loop.start();
    await jest.advanceTimersByTimeAsync(0);

    const drained = loop.drain(5_000);
    source.add(1);
    loop.poke();
    running.get('job-0')!.resolve();
    await jest.advanceTimersByTimeAsync(5_000);
    await drained;

    expect(source.completed).toEqual(['job-0']);
    expect(source.failed).toEqual(['job-1']);
    expect(signals.get('job-1')!.aborted).toBe(true);
    expect(source.fetches).toEqual([3]); // nothing fetched once draining
    // The handed-back job's handler ending later settles nothing more.
    running.get('job-1')!.reject(new Error('aborted'));
    await jest.advanceTimersByTimeAsync(0);
    expect(source.failed).toEqual(['job-1']);
  });
});
