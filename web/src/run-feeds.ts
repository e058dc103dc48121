import { Connection, FrameError } from './connection';
import { RunEvent, TERMINAL_EVENTS } from './types';

// What the page knows of one run it follows: its events so far, each once and in seq order.
export interface RunRecord {
  runId: string;
  threadId: string;
  events: RunEvent[];
  lastSeq: number;
  ended: boolean;
  // A subscribe is on its way; events past a gap wait for its replay.
  resyncing: boolean;
}

type Listener = (record: RunRecord, event: RunEvent) => void;

// The runs the page follows over the socket. Every event goes through `accept`, which keeps the
// seq order: a seq already seen is a duplicate and dropped, a seq past a gap asks for the missing
// ones again. After a reconnect every run not ended is subscribed to again from the last seq seen
// (`subscribe { after }`), so nothing is missed and nothing is shown twice.
export class RunFeeds {
  private readonly runs = new Map<string, RunRecord>();
  private readonly listeners = new Set<Listener>();

  constructor(private readonly connection: Connection) {}

  get(runId: string): RunRecord | undefined {
    return this.runs.get(runId);
  }

  // A run this socket follows already (one it started).
  track(runId: string, threadId: string): RunRecord {
    let record = this.runs.get(runId);
    if (!record) {
      record = { runId, threadId, events: [], lastSeq: 0, ended: false, resyncing: false };
      this.runs.set(runId, record);
    }
    return record;
  }

  // A run to follow from what the page has of it (from the start for one it has not seen).
  follow(runId: string, threadId: string): RunRecord {
    const record = this.track(runId, threadId);
    if (!record.ended) void this.subscribe(record);
    return record;
  }

  active(threadId: string): RunRecord[] {
    return [...this.runs.values()].filter((r) => r.threadId === threadId && !r.ended);
  }

  // The thread is gone: its runs are over for this page.
  forgetThread(threadId: string): void {
    for (const [id, record] of this.runs) if (record.threadId === threadId) this.runs.delete(id);
  }

  onEvent(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  accept(event: RunEvent): void {
    const record = this.track(event.run_id, event.thread_id);
    if (event.seq <= record.lastSeq) return; // seen already
    if (event.seq !== record.lastSeq + 1) {
      if (!record.resyncing) void this.subscribe(record);
      return;
    }
    record.events.push(event);
    record.lastSeq = event.seq;
    if (TERMINAL_EVENTS.includes(event.type)) record.ended = true;
    for (const listener of this.listeners) listener(record, event);
  }

  // After a reconnect: every run not ended, from its last seq.
  resumeAll(): void {
    for (const record of this.runs.values()) if (!record.ended) void this.subscribe(record);
  }

  private async subscribe(record: RunRecord): Promise<void> {
    record.resyncing = true;
    try {
      const ack = await this.connection.request<{ ended: boolean }>('subscribe', {
        run_id: record.runId,
        after: record.lastSeq,
      });
      // Over, and nothing after what we have: every event is here already.
      if (ack.ended) record.ended = true;
    } catch (err) {
      // A lost socket resubscribes on reconnect; a run that is gone (its thread deleted) is over.
      if (err instanceof FrameError && err.code === 'not_found') record.ended = true;
    } finally {
      record.resyncing = false;
    }
  }
}
