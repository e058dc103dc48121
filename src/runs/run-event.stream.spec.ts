import { lastValueFrom, Observable, toArray } from 'rxjs';
import { RunEvent, RunEventType } from './run-event';
import { InProcessRunEventBus } from './run-event.bus';
import { RESYNC_MS, RunEventStream } from './run-event.stream';
import { RunStatus } from './run-status';
import { Run } from './run.entity';
import { StatePersistenceService } from './state-persistence.service';

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

// The run_events table and the runs row of one run, as StatePersistenceService reads them.
class FakeStore {
  readonly events: RunEvent[] = [];
  readonly reads: { userId: string; runId: string; after: number; limit: number }[] = [];
  status: RunStatus | null = 'running';
  failure?: Error;
  // Runs when the stream looks the run up, to let the run move on at that moment.
  onFindRun?: () => void;
  private readonly runRead = deferred();
  // Resolves once the stream has read the backlog and looked the run up.
  readonly backlogRead = this.runRead.promise;

  commit(type: RunEventType = 'agent_thinking'): RunEvent {
    const committed = event(this.events.length + 1, type);
    this.events.push(committed);
    return committed;
  }

  listEvents(userId: string, runId: string, after: number, limit: number): Promise<RunEvent[]> {
    this.reads.push({ userId, runId, after, limit });
    if (this.failure) return Promise.reject(this.failure);
    return Promise.resolve(this.events.filter((e) => e.seq > after).slice(0, limit));
  }

  findRun(userId: string, runId: string): Promise<Run | null> {
    this.runRead.resolve();
    this.onFindRun?.();
    const run = { id: runId, userId, threadId: THREAD, status: this.status } as Run;
    return Promise.resolve(this.status ? run : null);
  }
}

function setup() {
  const store = new FakeStore();
  const bus = new InProcessRunEventBus();
  const stream = new RunEventStream(store as unknown as StatePersistenceService, bus);
  // Counts how often a follower leaves the bus.
  const left = jest.fn();
  const subscribe = bus.subscribe.bind(bus);
  jest.spyOn(bus, 'subscribe').mockImplementation((runId, listener) => {
    const off = subscribe(runId, listener);
    return () => {
      left();
      off();
    };
  });
  const follow = (after = 0): Observable<RunEvent> => stream.follow(USER, RUN, after);
  // Events are committed before they are published, as StatePersistenceService does.
  const commitAndPublish = (type: RunEventType = 'agent_thinking'): RunEvent => {
    const committed = store.commit(type);
    bus.publish(committed);
    return committed;
  };
  return { store, bus, follow, commitAndPublish, left };
}

function collect(events: Observable<RunEvent>): Promise<RunEvent[]> {
  return lastValueFrom(events.pipe(toArray()));
}

const seqs = (events: RunEvent[]): number[] => events.map((e) => e.seq);

describe('RunEventStream.follow', () => {
  it('emits the stored events after `after`, then live ones, in order', async () => {
    const { store, follow, commitAndPublish } = setup();
    store.commit('agent_started');
    store.commit();
    store.commit();

    const result = collect(follow(1));
    await store.backlogRead;
    commitAndPublish('tool_executing');
    commitAndPublish('agent_completed');

    expect(seqs(await result)).toEqual([2, 3, 4, 5]);
    expect(store.reads[0]).toEqual({ userId: USER, runId: RUN, after: 1, limit: 500 });
  });

  it('emits a live event that is also in the backlog only once', async () => {
    const { store, bus, follow, commitAndPublish } = setup();
    store.commit('agent_started');
    store.commit();
    store.commit();

    const result = collect(follow());
    bus.publish(store.events[1]); // arrives before the backlog is read
    await store.backlogRead;
    bus.publish(store.events[2]); // the bus repeats an event
    commitAndPublish('agent_completed');

    expect(seqs(await result)).toEqual([1, 2, 3, 4]);
    expect(store.reads.map((r) => r.after)).toEqual([0]); // a repeat costs no read
  });

  it('fills a gap in live events from the store', async () => {
    const { store, follow, commitAndPublish } = setup();
    store.commit('agent_started');

    const result = collect(follow());
    await store.backlogRead;
    store.commit(); // seq 2 never reaches the bus
    commitAndPublish('agent_completed');

    expect(seqs(await result)).toEqual([1, 2, 3]);
    expect(store.reads.map((r) => r.after)).toEqual([0, 1]);
  });

  it('reads a long backlog page by page', async () => {
    const { store, follow } = setup();
    for (let i = 1; i < 1200; i++) store.commit();
    store.commit('agent_completed');

    const result = await collect(follow());

    expect(seqs(result)).toEqual(Array.from({ length: 1200 }, (_, i) => i + 1));
    expect(store.reads.map((r) => r.after)).toEqual([0, 500, 1000]);
  });

  it.each<RunEventType>(['agent_completed', 'agent_error', 'agent_cancelled'])(
    'completes after a live %s event and leaves the bus',
    async (terminal) => {
      const { store, follow, commitAndPublish, left } = setup();
      store.commit('agent_started');

      const result = collect(follow());
      await store.backlogRead;
      commitAndPublish(terminal);

      expect((await result).map((e) => e.type)).toEqual(['agent_started', terminal]);
      expect(left).toHaveBeenCalledTimes(1);
    },
  );

  it('completes at a terminal event in the backlog even while the run looks active', async () => {
    const { store, follow } = setup();
    store.commit('agent_started');
    store.commit('agent_cancelled');

    expect(seqs(await collect(follow()))).toEqual([1, 2]);
  });

  it('completes with nothing for a finished run when nothing is after `after`', async () => {
    const { store, follow, left } = setup();
    store.commit('agent_started');
    store.commit('agent_completed');
    store.status = 'complete';

    expect(await collect(follow(2))).toEqual([]);
    expect(left).toHaveBeenCalledTimes(1);
  });

  it('delivers the last event of a run that finishes while the backlog is read', async () => {
    const { store, follow, commitAndPublish } = setup();
    store.commit('agent_started');
    store.onFindRun = () => {
      commitAndPublish('agent_completed');
      store.status = 'complete';
    };

    expect(seqs(await collect(follow()))).toEqual([1, 2]);
  });

  it('ends the stream at the next resync when the bus lost the terminal event', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] });
    try {
      const { store, follow } = setup();
      store.commit('agent_started');
      const all = collect(follow());
      await store.backlogRead;
      store.commit('agent_completed'); // committed, but never published
      store.status = 'complete';
      await jest.advanceTimersByTimeAsync(RESYNC_MS);
      expect(seqs(await all)).toEqual([1, 2]);
    } finally {
      jest.useRealTimers();
    }
  });

  it('completes with nothing when the run is not found', async () => {
    const { store, follow } = setup();
    store.status = null;

    expect(await collect(follow())).toEqual([]);
  });

  it('stops delivery and leaves the bus on unsubscribe', async () => {
    const { store, follow, commitAndPublish, left } = setup();
    store.commit('agent_started');
    const seen: RunEvent[] = [];
    const first = deferred();

    const subscription = follow().subscribe((e) => {
      seen.push(e);
      first.resolve();
    });
    await first.promise;
    subscription.unsubscribe();
    expect(left).toHaveBeenCalledTimes(1);

    const witness = collect(follow()); // a second follower shows the event was delivered
    commitAndPublish('agent_completed');

    expect(seqs(await witness)).toEqual([1, 2]);
    expect(seqs(seen)).toEqual([1]);
  });

  it('errors when the store fails', async () => {
    const { store, follow } = setup();
    store.failure = new Error('connection lost');

    await expect(collect(follow())).rejects.toThrow('connection lost');
  });
});
