import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Client } from 'pg';
import { EnvironmentVariables } from '../config/env.validation';
import { Tx } from '../database/transaction';
import { RunEvent } from './run-event';
import { InProcessRunEventBus, RunEventRef } from './run-event.bus';

export const RUN_EVENTS_CHANNEL = 'netra_run_events';
const RECONNECT_MAX_MS = 5_000;
// A connection can die without telling (a NAT entry dropped, a failover without a reset): it is
// asked every HEARTBEAT_MS whether it still listens, and replaced when it does not answer in time.
const HEARTBEAT_MS = 10_000;
const HEARTBEAT_TIMEOUT_MS = 5_000;

// The bus across instances: PostgreSQL LISTEN/NOTIFY. A notification names each run a commit wrote
// (`run_id:seq`, with the events when they fit) and is sent in that transaction, so PostgreSQL
// delivers it only after the commit. Each instance holds one dedicated
// listening connection that reconnects by itself; after a reconnect every follower re-reads the log,
// because notifications sent while it was away are lost.
@Injectable()
export class PostgresRunEventBus
  extends InProcessRunEventBus
  implements OnModuleInit, OnApplicationShutdown
{
  private readonly logger = new Logger(PostgresRunEventBus.name);
  private client?: Client;
  private stopped = false;
  private retryMs = 100;
  private retry?: NodeJS.Timeout;
  private heartbeat?: NodeJS.Timeout;

  constructor(private readonly config: ConfigService<EnvironmentVariables, true>) {
    super();
  }

  // One statement: the refs packed into as few payloads as fit (usually one). PostgreSQL takes its
  // notification lock and wakes each listener once per commit, however many payloads it carries.
  override async publish(tx: Tx, refs: RunEventRef[]): Promise<void> {
    await tx.rows(
      'SELECT pg_notify($1, p) FROM unnest($2::text[]) WITH ORDINALITY AS n(p, i) ORDER BY i',
      [RUN_EVENTS_CHANNEL, payloadsOf(refs)],
    );
  }

  // The first connection is made before the app serves anything; a failure here stops the start.
  async onModuleInit(): Promise<void> {
    await this.connect();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    clearTimeout(this.heartbeat);
    const client = this.client;
    this.client = undefined;
    client?.removeAllListeners('end');
    await client?.end().catch(() => undefined);
  }

  // Whether the listening connection is up (for the readiness check).
  get listening(): boolean {
    return this.client !== undefined;
  }

  private async connect(): Promise<void> {
    const client = new Client({
      connectionString: this.config.get('DATABASE_URL', { infer: true }),
      application_name: 'netra-run-events',
      connectionTimeoutMillis: 2_000,
      keepAlive: true,
      keepAliveInitialDelayMillis: HEARTBEAT_MS,
    });
    client.on('notification', (message) => {
      for (const ref of parsePayload(message.payload)) this.deliver(ref);
    });
    // 'error' then 'end' on a dropped connection: reconnect once, on 'end'.
    client.on('error', (err) =>
      this.logger.warn(`Event listener connection failed: ${err.message}`),
    );
    client.on('end', () => this.drop(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${RUN_EVENTS_CHANNEL}`);
    } catch (err) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      throw err;
    }
    // Shut down while this connected (a reconnect in flight): let it go.
    if (this.stopped) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.retryMs = 100;
    this.scheduleHeartbeat(client);
  }

  // Lets go of a connection that ended or stopped answering, and makes another.
  private drop(client: Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    clearTimeout(this.heartbeat);
    client.removeAllListeners('end');
    void client.end().catch(() => undefined);
    this.scheduleReconnect();
  }

  private scheduleHeartbeat(client: Client): void {
    if (this.stopped) return;
    this.heartbeat = setTimeout(() => {
      void this.ping(client).then(
        () => this.scheduleHeartbeat(client),
        (err: unknown) => {
          this.logger.warn(`Event listener stopped answering: ${String(err)}`);
          this.drop(client);
        },
      );
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  private async ping(client: Client): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const query = client.query<{ listening: boolean }>(
      'SELECT $1 = ANY(ARRAY(SELECT pg_listening_channels())) AS listening',
      [RUN_EVENTS_CHANNEL],
    );
    query.catch(() => undefined);
    try {
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('no answer in time')), HEARTBEAT_TIMEOUT_MS);
      });
      const result = await Promise.race([query, timedOut]);
      if (!result.rows[0]?.listening) throw new Error('the connection no longer listens');
    } finally {
      clearTimeout(timer);
    }
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.connect().then(
        () => {
          this.logger.log('Event listener reconnected');
          this.resync();
        },
        (err: unknown) => {
          this.logger.warn(`Event listener reconnect failed: ${String(err)}`);
          this.retryMs = Math.min(this.retryMs * 2, RECONNECT_MAX_MS);
          this.scheduleReconnect();
        },
      );
    }, this.retryMs);
    this.retry.unref();
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
