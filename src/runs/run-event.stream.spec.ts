import { lastValueFrom, Observable, toArray } from 'rxjs';
import { Tx } from '../database/transaction';
import { RunEvent, RunEventType } from './run-event';
import { InProcessRunEventBus } from './run-event.bus';
import { RunEventLog } from './run-event.log';
import { RESYNC_MS, RunEventStream } from './run-event.stream';
import { RunStatus } from './run-status';
import { Run } from './run.entity';
import { RunStore } from './run.store';

const USER = 'user-1';
const RUN = '3f0c5a8e-1d2b-4c6f-9a7e-2b4d6f8a0c1e';
const THREAD = '9b1d3f5a-7c9e-4b2d-8f6a-0c2e4a6b8d0f';

function event(seq: number, type: RunEventType = 'agent_thinking'): RunEvent {
  return {
    run_id: RUN,
    thread_id: THREAD,
    seq,
    type,
    agent_name: 'supervisor',
    data: { n: seq },
    timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(),
  };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

// The run_events rows and the runs row of one run, as RunEventLog and RunStore read them.
class FakeLog {
  readonly events: RunEvent[] = [];
  readonly reads: { userId: string; runId: string; after: number; limit: number }[] = [];
  status: RunStatus | null = 'running';
  failures: Error[] = [];
  private firstRead = deferred();
  // Resolves once something has read the log.
  get read(): Promise<void> {
    return this.firstRead.promise;
  }

  commit(type: RunEventType = 'agent_thinking'): RunEvent {
    const committed = event(this.events.length + 1, type);
    this.events.push(committed);
    return committed;
  }

  list(userId: string, runId: string, after: number, limit: number): Promise<RunEvent[]> {
    this.reads.push({ userId, runId, after, limit });
    this.firstRead.resolve();
    const failure = this.failures.shift();
    if (failure) return Promise.reject(failure);
    return Promise.resolve(this.events.filter((e) => e.seq > after).slice(0, limit));
  }

  findByRef(userId: string, runId: string): Promise<Run | null> {
    const run = {
      id: runId,
      userId,
      threadId: THREAD,
      status: this.status,
      lastSeq: this.events.length,
    } as Run;
    return Promise.resolve(this.status ? run : null);
  }

  // The reads of the log since the last call.
  takeReads(): number[] {
    const afters = this.reads.map((r) => r.after);
    this.reads.length = 0;
    this.firstRead = deferred();
    return afters;
  }
}

// An in-process bus whose publish needs no transaction: a committed event, announced.
class Bus extends InProcessRunEventBus {
  announce(committed: RunEvent): void {
    const tx = { afterCommit: (fn: () => void) => fn() } as unknown as Tx;
    void this.publish(tx, [{ run_id: committed.run_id, seq: committed.seq }]);
  }

  // Announced with the events themselves, as the PostgreSQL bus does when they fit.
  announceWithEvents(...committed: RunEvent[]): void {
    const tx = { afterCommit: (fn: () => void) => fn() } as unknown as Tx;
    const last = committed[committed.length - 1];
    void this.publish(tx, [{ run_id: last.run_id, seq: last.seq, events: committed }]);
  }

  reconnected(): void {
    this.resync();
  }
}

function setup() {
  const log = new FakeLog();
  const bus = new Bus();
  const stream = new RunEventStream(log as unknown as RunEventLog, log as unknown as RunStore, bus);
  // As AgentService does: the run's last seq read just before.
  const follow = (after = 0): Observable<RunEvent> =>
    stream.follow(USER, RUN, after, { status: log.status!, lastSeq: log.events.length });
  // Events are committed before they are announced, as RunEventLog does.
  const commitAndAnnounce = (type: RunEventType = 'agent_thinking'): RunEvent => {
    const committed = log.commit(type);
    bus.announce(committed);
    return committed;
  };
  return { log, bus, stream, follow, commitAndAnnounce };
}

function collect(events: Observable<RunEvent>): Promise<RunEvent[]> {
  return lastValueFrom(events.pipe(toArray()));
}

// Lets the feed's reads (promises) run.
const settled = () => new Promise((resolve) => setImmediate(resolve));

const seqs = (events: RunEvent[]): number[] => events.map((e) => e.seq);

// A stream that only delivers at the 10 s re-read has lost an event on the way: no test here may
// get anywhere near that.
jest.setTimeout(2_000);

describe('RunEventStream.follow', () => {
  afterEach(() => jest.useRealTimers());

  it('hands on the events a notification carries without reading the log, and reads on a gap', async () => {
    const { log, bus, follow } = setup();
    log.commit('agent_started');
    const result = collect(follow(0));
    await log.read;
    await settled();
    log.takeReads();

    bus.announceWithEvents(log.commit(), log.commit());
    await settled();
    expect(log.takeReads()).toEqual([]);

    // seq 4 is committed but its notification is lost: 5 arrives with a gap before it.
    log.commit();
    bus.announceWithEvents(log.commit('agent_completed'));
    await settled();
    expect(log.takeReads()).toEqual([3]);
    expect(seqs(await result)).toEqual([1, 2, 3, 4, 5]);
  });

  it('emits the stored events after `after`, then live ones, in order', async () => {
    const { log, follow, commitAndAnnounce } = setup();
    log.commit('agent_started');
    log.commit();
    log.commit();

    const result = collect(follow(1));
    await log.read;
    commitAndAnnounce('tool_executing');
    commitAndAnnounce('agent_completed');

    expect(seqs(await result)).toEqual([2, 3, 4, 5]);
    // The feed starts at the run's last seq; the follower reads its own backlog.
    expect(log.reads.slice(0, 2)).toEqual([
      { userId: USER, runId: RUN, after: 3, limit: 500 },
      { userId: USER, runId: RUN, after: 1, limit: 500 },
    ]);
  });

  it('shares one read per new event among every follower of the run', async () => {
    const { log, follow, commitAndAnnounce, bus } = setup();
    log.commit('agent_started');
    const followers = Array.from({ length: 50 }, () => collect(follow(1)));
    await settled();
    log.takeReads();
    expect(bus.listenerCount(RUN)).toBe(1);

    commitAndAnnounce();
    await settled();
    expect(log.takeReads()).toEqual([1]);
    commitAndAnnounce('agent_completed');

    for (const result of await Promise.all(followers)) expect(seqs(result)).toEqual([2, 3]);
    expect(log.takeReads()).toEqual([2]);
    expect(bus.listenerCount(RUN)).toBe(0);
  });

  it('lets a follower that joins behind the feed read what it missed itself, then share', async () => {
    const { log, follow, commitAndAnnounce } = setup();
    log.commit('agent_started');
    log.commit();
    const ahead = collect(follow(2));
    await settled();
    const behind = collect(follow(0));
    await settled();
    commitAndAnnounce('agent_completed');

    expect(seqs(await ahead)).toEqual([3]);
    expect(seqs(await behind)).toEqual([1, 2, 3]);
  });

  it('emits an announced event that is also in the backlog only once', async () => {
    const { log, bus, follow, commitAndAnnounce } = setup();
    log.commit('agent_started');
    log.commit();

    const result = collect(follow());
    bus.announce(log.events[1]); // arrives while the backlog is read
    await settled();
    bus.announce(log.events[1]); // the bus repeats one
    commitAndAnnounce('agent_completed');

    expect(seqs(await result)).toEqual([1, 2, 3]);
  });

  it('reads what the bus lost when a later event is announced', async () => {
    const { log, follow, commitAndAnnounce } = setup();
    log.commit('agent_started');

    const result = collect(follow());
    await settled();
    log.commit(); // seq 2 never reaches the bus
    commitAndAnnounce('agent_completed');

    expect(seqs(await result)).toEqual([1, 2, 3]);
  });

  it('reads a long backlog page by page', async () => {
    const { log, follow } = setup();
    for (let i = 1; i < 1200; i++) log.commit();
    log.commit('agent_completed');

    const result = await collect(follow());

    expect(seqs(result)).toEqual(Array.from({ length: 1200 }, (_, i) => i + 1));
    // The feed looks after the last seq; the follower pages through its backlog.
    expect(log.reads.map((r) => r.after)).toEqual([1200, 0, 500, 1000]);
  });

  it.each<RunEventType>(['agent_completed', 'agent_error', 'agent_cancelled'])(
    'completes after a live %s event and leaves the bus',
    async (terminal) => {
      const { log, bus, follow, commitAndAnnounce } = setup();
      log.commit('agent_started');

      const result = collect(follow());
      await log.read;
      commitAndAnnounce(terminal);

      expect((await result).map((e) => e.type)).toEqual(['agent_started', terminal]);
      expect(bus.listenerCount(RUN)).toBe(0);
    },
  );

  it('serves a follower that joins behind one who claimed to be ahead of the run', async () => {
    const { log, follow, commitAndAnnounce } = setup();
    log.commit('agent_started');
    const ahead = follow(1000).subscribe(); // a client that says it saw seq 1000
    await settled();
    const behind = collect(follow(0));
    await settled();
    commitAndAnnounce();
    commitAndAnnounce('agent_completed');

    expect(seqs(await behind)).toEqual([1, 2, 3]);
    ahead.unsubscribe();
  });

  it('completes at once for a finished run when nothing is after `after`', async () => {
    const { log, follow, bus } = setup();
    log.commit('agent_started');
    log.commit('agent_completed');
    log.status = 'complete';

    expect(await collect(follow(2))).toEqual([]);
    expect(bus.listenerCount(RUN)).toBe(0);
  });

  it('ends the stream at the next resync when the bus lost the terminal event', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] });
    const { log, follow } = setup();
    log.commit('agent_started');
    const all = collect(follow());
    await settled();
    log.commit('agent_completed'); // committed, but never announced
    log.status = 'complete';
    await jest.advanceTimersByTimeAsync(RESYNC_MS);

    expect(seqs(await all)).toEqual([1, 2]);
  });

  it('re-reads every followed run when the bus says it may have missed notifications', async () => {
    const { log, bus, follow } = setup();
    log.commit('agent_started');
    const all = collect(follow());
    await settled();
    log.commit('agent_completed'); // sent while the listener was reconnecting
    bus.reconnected();

    expect(seqs(await all)).toEqual([1, 2]);
  });

  it('stops delivery and leaves the bus on unsubscribe', async () => {
    const { log, bus, follow, commitAndAnnounce } = setup();
    log.commit('agent_started');
    const seen: RunEvent[] = [];
    const first = deferred();

    const subscription = follow().subscribe((e) => {
      seen.push(e);
      first.resolve();
    });
    await first.promise;
    subscription.unsubscribe();
    expect(bus.listenerCount(RUN)).toBe(0);

    const witness = collect(follow()); // a second follower shows the event was delivered
    commitAndAnnounce('agent_completed');

    expect(seqs(await witness)).toEqual([1, 2]);
    expect(seqs(seen)).toEqual([1]);
  });

  it('keeps the stream open through a database outage and carries on after it', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] });
    const { log, follow, commitAndAnnounce } = setup();
    log.commit('agent_started');
    log.failures.push(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    const all = collect(follow());
    await settled();
    commitAndAnnounce('agent_completed');
    await jest.advanceTimersByTimeAsync(1_000);

    expect(seqs(await all)).toEqual([1, 2]);
  });

  it('errors its followers when reading fails for another reason', async () => {
    const { log, follow } = setup();
    log.failures.push(new Error('column "seq" does not exist'));

    await expect(collect(follow())).rejects.toThrow('column "seq" does not exist');
  });
});
