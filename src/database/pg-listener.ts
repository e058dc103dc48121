import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Client } from 'pg';
import { EnvironmentVariables } from '../config/env.validation';

const RECONNECT_MAX_MS = 5_000;
// A connection can die without telling (a NAT entry dropped, a failover without a reset): it is
// asked every HEARTBEAT_MS whether it still listens, and replaced when it does not answer in time.
const HEARTBEAT_MS = 10_000;
const HEARTBEAT_TIMEOUT_MS = 5_000;

interface Channel {
  onNotify: (payload: string) => void;
  // Notifications may have been lost (the connection was away): look again.
  onResync: () => void;
}

// The instance's one LISTEN connection, for every channel it listens on (run events, run jobs).
// PostgreSQL makes each listening connection of a database read every notification committed in
// it, in a transaction of its own: one connection, not one per channel, keeps that cost to one
// transaction per notifying commit per instance. It reconnects by itself and tells every channel
// to look again afterwards, since notifications sent while it was away are lost.
@Injectable()
export class PgListener implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(PgListener.name);
  private readonly channels = new Map<string, Channel>();
  private client?: Client;
  private stopped = false;
  private retryMs = 100;
  private retry?: NodeJS.Timeout;
  private heartbeat?: NodeJS.Timeout;

  constructor(private readonly config: ConfigService<EnvironmentVariables, true>) {}

  // Listens on `channel` (a plain identifier) from now on, and after every reconnect.
  async listen(channel: string, handlers: Channel): Promise<void> {
    if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`bad channel name ${channel}`);
    this.channels.set(channel, handlers);
    await this.client?.query(`LISTEN ${channel}`);
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
      application_name: 'netra-listener',
      connectionTimeoutMillis: 2_000,
      keepAlive: true,
      keepAliveInitialDelayMillis: HEARTBEAT_MS,
    });
    client.on('notification', (message) => {
      this.channels.get(message.channel)?.onNotify(message.payload ?? '');
    });
    // 'error' then 'end' on a dropped connection: reconnect once, on 'end'.
    client.on('error', (err) =>
      this.logger.warn(`Event listener connection failed: ${err.message}`),
    );
    client.on('end', () => this.drop(client));
    try {
      await client.connect();
      for (const channel of this.channels.keys()) await client.query(`LISTEN ${channel}`);
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
    if (this.stopped || this.client !== client) return;
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
      'SELECT $1::text[] <@ ARRAY(SELECT pg_listening_channels()) AS listening',
      [[...this.channels.keys()]],
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
          for (const { onResync } of this.channels.values()) onResync();
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
