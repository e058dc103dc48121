import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';
import { DomainError } from '../common/domain.error';
import { EnvironmentVariables } from '../config/env.validation';
import { Tx } from '../database/transaction';
import { IdempotencyStore, StoredResponse } from './idempotency.store';

const SWEEP_MS = 60 * 60 * 1000;

// What a request asked for: the operation, the ids in its path and its body. Two requests with one
// key must agree on all of it.
export interface IdempotentRequest {
  operation: string;
  params?: Record<string, unknown>;
  body?: unknown;
}

// Idempotency-Key (REST header) and idempotency_key (WebSocket payload), in one store: the first
// request with a key does the work and its answer is kept (IDEMPOTENCY_TTL_SECONDS); the same key
// with the same request gets that answer again, with another request 409 idempotency_conflict.
// Concurrent requests with one key wait for the first: exactly one does the work. A request that
// fails keeps nothing, so it can be retried with the same key.
@Injectable()
export class IdempotencyService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(IdempotencyService.name);
  private readonly ttlSeconds: number;
  private sweep?: NodeJS.Timeout;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly store: IdempotencyStore,
    config: ConfigService<EnvironmentVariables, true>,
  ) {
    this.ttlSeconds = config.get('IDEMPOTENCY_TTL_SECONDS', { infer: true });
  }

  onModuleInit(): void {
    this.sweep = setInterval(() => {
      this.store.deleteExpired().catch((err: unknown) => {
        this.logger.warn(`Could not delete expired idempotency keys: ${String(err)}`);
      });
    }, SWEEP_MS);
    this.sweep.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.sweep);
  }

  // Runs `work` in a transaction, once per (user, key); without a key, simply runs it.
  async once<T>(
    userId: string,
    key: string | undefined,
    request: IdempotentRequest,
    status: number,
    work: (tx: Tx) => Promise<T>,
  ): Promise<T> {
    if (key === undefined) return Tx.run(this.db, work);
    const fingerprint = fingerprintOf(request);
    // A repeat of a finished request is answered without opening a transaction; only requests
    // that arrive while the first is in flight wait (holding a connection) for it.
    const earlier = await this.store.find(userId, key);
    if (earlier) return replay<T>(earlier, fingerprint);
    for (;;) {
      const fresh = await Tx.run(this.db, async (tx) => {
        if (!(await this.store.take(tx, userId, key, fingerprint, this.ttlSeconds))) return null;
        const body = await work(tx);
        await this.store.record(tx, userId, key, status, body);
        return { body };
      });
      if (fresh) return fresh.body;
      const stored = await this.store.find(userId, key);
      // Expired between the two reads: take it afresh.
      if (stored) return replay<T>(stored, fingerprint);
    }
  }
}

function replay<T>(stored: StoredResponse, fingerprint: string): T {
  if (stored.fingerprint !== fingerprint) {
    throw new DomainError(
      'idempotency_conflict',
      'this Idempotency-Key was already used for a different request',
    );
  }
  return stored.body as T;
}

function fingerprintOf(request: IdempotentRequest): string {
  return createHash('sha256').update(canonicalJson(request)).digest('hex');
}

// JSON with object keys sorted, so two equal bodies hash alike whatever their key order.
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
