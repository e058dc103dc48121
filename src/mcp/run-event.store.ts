import type { EventStore } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { CallRef, REQUEST_META, RUN_META, SEQ_META } from './mcp-messages';

type EventId = string;
type StreamId = string;

// Where a resumed stream goes on from: the call, and the last run event the client had.
export interface Cursor extends CallRef {
  seq: number;
}

// The MCP SDK's event store, backed by the run's own log instead of a copy of every message: an
// event id names the run, the seq and the call (`<run_id>.<seq>.<call>`), so a client resuming
// with Last-Event-ID, on any instance, gets the rest of the run from run_events, turned into the
// same messages again (`replay`). Messages that are not about a run (an initialize answer) get ids
// that cannot be resumed, as there is nothing to resume.
export class RunEventStore implements EventStore {
  private others = 0;

  constructor(
    private readonly replay: (
      cursor: Cursor,
      send: (id: EventId, m: JSONRPCMessage) => Promise<void>,
    ) => Promise<void>,
  ) {}

  storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    const cursor = cursorIn(message);
    return Promise.resolve(cursor ? eventId(cursor) : `${streamId}.${++this.others}`);
  }

  async replayEventsAfter(
    lastEventId: EventId,
    { send }: { send: (eventId: EventId, message: JSONRPCMessage) => Promise<void> },
  ): Promise<StreamId> {
    const cursor = parseEventId(lastEventId);
    if (!cursor) throw new Error(`event id ${lastEventId} names no run`);
    await this.replay(cursor, send);
    return `run-${cursor.runId}`;
  }
}

export function eventId(cursor: Cursor): EventId {
  const call = Buffer.from(JSON.stringify([cursor.requestId, cursor.progressToken ?? null]));
  return `${cursor.runId}.${cursor.seq}.${call.toString('base64url')}`;
}

export function parseEventId(id: EventId): Cursor | null {
  const match = /^([0-9a-f-]{36})\.(\d{1,9})\.([A-Za-z0-9_-]{1,400})$/.exec(id);
  if (!match) return null;
  try {
    const [requestId, progressToken] = JSON.parse(
      Buffer.from(match[3], 'base64url').toString(),
    ) as unknown[];
    if (!isId(requestId) || !(progressToken === null || isId(progressToken))) return null;
    return {
      runId: match[1],
      seq: Number(match[2]),
      requestId,
      ...(progressToken === null ? {} : { progressToken }),
    };
  } catch {
    return null;
  }
}

// The run, seq and call a message of ours names in its _meta (a progress notification's params,
// a tool result).
function cursorIn(message: JSONRPCMessage): Cursor | null {
  const carrier = (
    'params' in message ? message.params : 'result' in message ? message.result : null
  ) as {
    _meta?: Record<string, unknown>;
    progressToken?: unknown;
  } | null;
  const meta = carrier?._meta;
  const runId = meta?.[RUN_META];
  const seq = meta?.[SEQ_META];
  const requestId = 'id' in message ? message.id : meta?.[REQUEST_META];
  if (typeof runId !== 'string' || typeof seq !== 'number' || !isId(requestId)) return null;
  const progressToken = carrier?.progressToken;
  return { runId, seq, requestId, ...(isId(progressToken) ? { progressToken } : {}) };
}

function isId(value: unknown): value is string | number {
  return typeof value === 'string' || typeof value === 'number';
}
