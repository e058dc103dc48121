import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { EMPTY, Observable, Subscriber } from 'rxjs';
import { isDatabaseUnavailable } from '../database/db-errors';
import { isTerminalEvent, RunEvent } from './run-event';
import { RunEventBus, RunEventRef } from './run-event.bus';
import { RunEventLog } from './run-event.log';
import { isTerminal } from './run-status';
import { Run } from './run.entity';
import { RunStore } from './run.store';

const PAGE = 500;
// A bus may lose a notification (a dropped listener connection); a feed that hears nothing re-reads
// the log this often, so even a lost terminal event ends its streams.
export const RESYNC_MS = 10_000;
// How soon a read that failed because the database was away is tried again.
const RETRY_MS = 1_000;

// Follows runs for SSE and WebSocket alike: the stored events after `after`, then live ones, each
// exactly once and in seq order, completing after the terminal event. However many clients follow
// one run on this instance, they share one feed: one database read per new event, one resync timer.
@Injectable()
export class RunEventStream implements OnModuleDestroy {
  private readonly logger = new Logger(RunEventStream.name);
  private readonly feeds = new Map<string, RunFeed>();
  private readonly stopResync: () => void;

  constructor(
    private readonly log: RunEventLog,
    private readonly runs: RunStore,
    private readonly bus: RunEventBus,
  ) {
    this.stopResync = bus.onResync(() => this.feeds.forEach((feed) => feed.pull()));
  }

  onModuleDestroy(): void {
    this.stopResync();
  }

  // The caller has checked that the run belongs to the user, and read its status and last seq: a
  // new feed starts there, and a client behind it (one replaying from 0, say) reads its backlog
  // itself, so the live clients never wait behind someone else's history. A run that had ended
  // with nothing after `after` completes at once.
  follow(
    userId: string,
    runId: string,
    after: number,
    run: Pick<Run, 'status' | 'lastSeq'>,
  ): Observable<RunEvent> {
    if (isTerminal(run.status) && after >= run.lastSeq) return EMPTY;
    const lastSeq = run.lastSeq;
    return new Observable<RunEvent>((subscriber) => {
      const key = `${userId}\u0000${runId}`;
      let feed = this.feeds.get(key);
      if (!feed) {
        feed = new RunFeed(userId, runId, lastSeq, this, () => this.feeds.delete(key));
        this.feeds.set(key, feed);
      }
      const follower = feed.join(subscriber, after);
      const joined = feed;
      return () => joined.leave(follower);
    });
  }

  // What a feed and its followers need; kept here so RunFeed stays a plain class.
  read(userId: string, runId: string, after: number): Promise<RunEvent[]> {
    return this.log.list(userId, runId, after, PAGE);
  }

  async ended(userId: string, runId: string): Promise<{ lastSeq: number } | null> {
    const run = await this.runs.findByRef(userId, runId);
    return !run || isTerminal(run.status) ? { lastSeq: run?.lastSeq ?? 0 } : null;
  }

  subscribeBus(runId: string, onRef: (ref: RunEventRef) => void): () => void {
    return this.bus.subscribe(runId, onRef);
  }

  // Whether a failed read is worth trying again (the database is away) or ends the streams.
  transient(err: unknown): boolean {
    if (isDatabaseUnavailable(err)) return true;
    this.logger.error(`Following a run failed: ${String(err)}`);
    return false;
  }
}

// One run's live events on this instance, shared by every client following it.
class RunFeed {
  private readonly followers = new Set<Follower>();
  private readonly unsubscribe: () => void;
  private readonly resync: NodeJS.Timeout;
  private pulling = false;
  private again = false;

  constructor(
    private readonly userId: string,
    private readonly runId: string,
    // The highest seq this feed has read and handed to its followers.
    private last: number,
    private readonly source: RunEventStream,
    private readonly dispose: () => void,
  ) {
    // Subscribed before the first read, so an event committed in between is not missed.
    this.unsubscribe = source.subscribeBus(runId, (ref) => {
      if (ref.seq <= this.last) return;
      // The events themselves, right after what the feed has: no read. Anything else (a gap, a
      // read in flight, a bare seq) is read from the log.
      if (!this.pulling && ref.events?.[0]?.seq === this.last + 1) this.hand(ref.events);
      else this.pull();
    });
    this.resync = setInterval(() => this.settle(), RESYNC_MS);
    this.resync.unref();
    // What was committed between the caller's read of the run and the subscription. Whether the
    // run has ended is not asked now: the caller's read said it had not, or its terminal event is
    // at or before `last`, and a follower behind it reads it itself.
    this.pull();
  }

  join(subscriber: Subscriber<RunEvent>, after: number): Follower {
    const follower = new Follower(subscriber, after, (from) =>
      this.source.read(this.userId, this.runId, from),
    );
    this.followers.add(follower);
    // Behind the feed: it reads what it missed itself, then takes the shared events.
    if (after < this.last) follower.catchUp();
    return follower;
  }

  leave(follower: Follower): void {
    follower.close();
    this.followers.delete(follower);
    if (this.followers.size > 0) return;
    this.unsubscribe();
    clearInterval(this.resync);
    this.dispose();
  }

  // Reads what is new since `last` and hands it to every follower; one read at a time, again if
  // more was announced meanwhile.
  pull(): void {
    if (this.pulling) {
      this.again = true;
      return;
    }
    this.pulling = true;
    void this.read();
  }

  // `pulling` is cleared in the same turn as the last look at `again`: an announcement that comes
  // after it starts a read of its own, and none falls between the two.
  private async read(): Promise<void> {
    try {
      do {
        this.again = false;
        for (;;) {
          const batch = await this.source.read(this.userId, this.runId, this.last);
          this.hand(batch);
          if (batch.length < PAGE) break;
        }
      } while (this.again);
    } catch (err) {
      this.failed(err);
    } finally {
      this.pulling = false;
    }
  }

  private hand(events: RunEvent[]): void {
    for (const event of events) {
      this.last = event.seq;
      this.followers.forEach((f) => f.offer(event));
    }
  }

  // The periodic check: anything the bus lost, and the end of a run whose terminal event was lost.
  private settle(): void {
    this.pull();
    this.source.ended(this.userId, this.runId).then(
      (ended) => {
        if (ended) this.followers.forEach((f) => f.endIfPast(ended.lastSeq));
      },
      (err: unknown) => this.failed(err),
    );
  }

  private failed(err: unknown): void {
    if (this.source.transient(err)) {
      setTimeout(() => this.pull(), RETRY_MS).unref();
      return;
    }
    this.followers.forEach((f) => f.fail(err));
  }
}

// One client's position in a run: events reach it once each, in seq order, from its own catch-up
// read (when it joined behind the feed or saw a gap) or from the feed.
class Follower {
  private closed = false;
  private catching = false;
  private held: RunEvent[] = [];

  constructor(
    private readonly subscriber: Subscriber<RunEvent>,
    private position: number,
    private readonly read: (after: number) => Promise<RunEvent[]>,
  ) {}

  offer(event: RunEvent): void {
    if (this.closed || event.seq <= this.position) return;
    if (this.catching) {
      this.held.push(event);
    } else if (event.seq === this.position + 1) {
      this.emit(event);
    } else {
      // A gap: the events in between are in the log.
      this.held.push(event);
      this.catchUp();
    }
  }

  catchUp(): void {
    if (this.catching || this.closed) return;
    this.catching = true;
    void this.readUp();
  }

  endIfPast(lastSeq: number): void {
    if (!this.closed && !this.catching && this.position >= lastSeq) this.complete();
  }

  fail(err: unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.subscriber.error(err);
  }

  close(): void {
    this.closed = true;
  }

  // The log from this follower's position, then what the feed handed over meanwhile; again while
  // the feed ran ahead of the read.
  private async readUp(): Promise<void> {
    try {
      for (;;) {
        for (;;) {
          const batch = await this.read(this.position);
          batch.forEach((event) => this.emit(event));
          if (this.closed || batch.length < PAGE) break;
        }
        const held = this.held.sort((a, b) => a.seq - b.seq);
        this.held = [];
        let gap = -1;
        for (let i = 0; i < held.length && gap < 0; i++) {
          if (held[i].seq > this.position + 1) gap = i;
          else this.emit(held[i]); // one already seen is skipped
        }
        if (this.closed || gap < 0) return;
        this.held = held.slice(gap);
      }
    } catch (err) {
      if (!isDatabaseUnavailable(err)) return this.fail(err);
      setTimeout(() => this.catchUp(), RETRY_MS).unref();
    } finally {
      // In the same turn as the last look at `held`, so no event offered meanwhile is left there.
      this.catching = false;
    }
  }

  private emit(event: RunEvent): void {
    if (this.closed || event.seq !== this.position + 1) return;
    this.position = event.seq;
    this.subscriber.next(event);
    if (isTerminalEvent(event.type)) this.complete();
  }

  private complete(): void {
    this.closed = true;
    this.subscriber.complete();
  }
}
