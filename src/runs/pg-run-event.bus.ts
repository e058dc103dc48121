import { Injectable } from '@nestjs/common';
import { PgListener } from '../database/pg-listener';
import { Tx } from '../database/transaction';
import { RunEvent } from './run-event';
import { InProcessRunEventBus, RunEventRef } from './run-event.bus';

export const RUN_EVENTS_CHANNEL = 'netra_run_events';

// The bus across instances: PostgreSQL LISTEN/NOTIFY. A notification names each run a commit wrote
// (`run_id:seq`, with the events when they fit) and is sent in that transaction, so PostgreSQL
// delivers it only after the commit. Each instance hears them on its one listening connection
// (PgListener); after a reconnect every follower re-reads the log, because notifications sent while
// it was away are lost.
@Injectable()
export class PostgresRunEventBus extends InProcessRunEventBus {
  constructor(private readonly listener: PgListener) {
    super();
    // Registered before the listener connects (its onModuleInit), so the first LISTEN has it.
    void listener.listen(RUN_EVENTS_CHANNEL, {
      onNotify: (payload) => parsePayload(payload).forEach((ref) => this.deliver(ref)),
      onResync: () => this.resync(),
    });
  }

  // Whether the listening connection is up (for the readiness check).
  get listening(): boolean {
    return this.listener.listening;
  }

  // One statement: the refs packed into as few payloads as fit (usually one). PostgreSQL takes its
  // notification lock and wakes each listener once per commit, however many payloads it carries.
  override async publish(tx: Tx, refs: RunEventRef[]): Promise<void> {
    await tx.rows(
      'SELECT pg_notify($1, p) FROM unnest($2::text[]) WITH ORDINALITY AS n(p, i) ORDER BY i',
      [RUN_EVENTS_CHANNEL, payloadsOf(refs)],
    );
  }
}

// A payload is one line per run: `run_id:seq`, then `:` and the events as JSON when they fit under
// PostgreSQL's 8000-byte payload limit (with room to spare): the followers on every instance then
// need no read per event. A run whose events do not fit is named by its seq alone, and its
// followers read the log.
const MAX_EVENTS_BYTES = 7_000;
const MAX_PAYLOAD_BYTES = 7_900;

// The refs of one commit as payloads, each line whole and each payload under the limit.
export function payloadsOf(refs: RunEventRef[]): string[] {
  const payloads: string[] = [];
  let lines: string[] = [];
  let bytes = 0;
  for (const ref of refs) {
    const line = payloadOf(ref);
    const size = Buffer.byteLength(line) + 1;
    if (lines.length > 0 && bytes + size > MAX_PAYLOAD_BYTES) {
      payloads.push(lines.join('\n'));
      lines = [];
      bytes = 0;
    }
    lines.push(line);
    bytes += size;
  }
  if (lines.length > 0) payloads.push(lines.join('\n'));
  return payloads;
}

// Every run reference a payload names; lines that are not ours are left out.
export function parsePayload(payload: string | undefined): RunEventRef[] {
  return (payload ?? '').split('\n').flatMap((line) => parseRef(line) ?? []);
}

export function payloadOf(ref: RunEventRef): string {
  const head = `${ref.run_id}:${ref.seq}`;
  if (!ref.events?.length) return head;
  const events = JSON.stringify(ref.events);
  return Buffer.byteLength(events) <= MAX_EVENTS_BYTES ? `${head}:${events}` : head;
}

// A payload that is not ours (someone else's NOTIFY on the channel) is ignored; events that do not
// parse are left out, and followers read the log instead.
export function parseRef(payload: string | undefined): RunEventRef | null {
  const match = payload?.match(/^([0-9a-f-]{36}):(\d+)(?::([\s\S]*))?$/);
  if (!match) return null;
  const ref: RunEventRef = { run_id: match[1], seq: Number(match[2]) };
  if (match[3] === undefined) return ref;
  try {
    const events = JSON.parse(match[3]) as unknown;
    if (isEventsOf(events, ref)) ref.events = events;
  } catch {
    // not JSON: the seq alone
  }
  return ref;
}

// Contiguous events of the run ending at the ref's seq.
function isEventsOf(value: unknown, ref: RunEventRef): value is RunEvent[] {
  if (!Array.isArray(value) || value.length === 0) return false;
  return value.every(
    (e: Partial<RunEvent> | null, i) =>
      typeof e === 'object' &&
      e !== null &&
      e.run_id === ref.run_id &&
      e.seq === ref.seq - value.length + 1 + i &&
      typeof e.type === 'string',
  );
}
