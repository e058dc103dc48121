import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Client } from 'pg';
import { EnvironmentVariables } from '../config/env.validation';
import { Tx } from '../database/transaction';
import { InProcessRunEventBus, RunEventRef } from './run-event.bus';

export const RUN_EVENTS_CHANNEL = 'netra_run_events';
const RECONNECT_MAX_MS = 5_000;

// The bus across instances: PostgreSQL LISTEN/NOTIFY. A notification carries only `run_id:seq`
// (far under the 8000-byte payload limit whatever the event) and is sent in the event's own
// transaction, so PostgreSQL delivers it only after the commit. Each instance holds one dedicated
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

  constructor(private readonly config: ConfigService<EnvironmentVariables, true>) {
    super();
  }

  override async publish(tx: Tx, ref: RunEventRef): Promise<void> {
    await tx.rows('SELECT pg_notify($1, $2)', [RUN_EVENTS_CHANNEL, `${ref.run_id}:${ref.seq}`]);
  }

  // The first connection is made before the app serves anything; a failure here stops the start.
  async onModuleInit(): Promise<void> {
    await this.connect();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    await this.client?.end().catch(() => undefined);
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
    });
    client.on('notification', (message) => {
      const ref = parseRef(message.payload);
      if (ref) this.deliver(ref);
    });
    // 'error' then 'end' on a dropped connection: reconnect once, on 'end'.
    client.on('error', (err) =>
      this.logger.warn(`Event listener connection failed: ${err.message}`),
    );
    client.on('end', () => {
      if (this.client === client) this.client = undefined;
      this.scheduleReconnect();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${RUN_EVENTS_CHANNEL}`);
    } catch (err) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      throw err;
    }
    this.client = client;
    this.retryMs = 100;
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

function parseRef(payload: string | undefined): RunEventRef | null {
  const match = payload?.match(/^([0-9a-f-]{36}):(\d+)$/);
  return match ? { run_id: match[1], seq: Number(match[2]) } : null;
}
