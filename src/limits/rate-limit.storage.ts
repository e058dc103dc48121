import { Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { ThrottlerStorage } from '@nestjs/throttler';
import { DataSource } from 'typeorm';

// The limits every instance counts together (in PostgreSQL): a user's run starts. The others
// (requests and frames a minute) are counted in each instance's memory: they guard the instance,
// and a database write per request would cost more than what they protect.
export const SHARED_LIMITS: readonly string[] = ['starts'];

const SWEEP_MS = 10 * 60_000;
const LOCAL_SWEEP_MS = 60_000;

interface Counted {
  totalHits: number;
  timeToExpire: number;
  isBlocked: boolean;
  timeToBlockExpire: number;
}

// One fixed window per key: the first hit opens it for `ttl`; every hit in it counts; past
// `limit` the caller is refused until it closes. The shared ones are one row per key, bumped in
// one statement, so two instances can never let more than `limit` through together; the local
// ones are a counter in a Map. (The throttler's own in-memory storage keeps a timestamp per hit
// and copies them all on every hit: a flood of frames against a high limit costs O(n) time and
// garbage per frame.)
@Injectable()
export class RateLimitStorage implements ThrottlerStorage, OnModuleInit, OnApplicationShutdown {
  private readonly local = new Map<string, { hits: number; expiresAt: number }>();
  private sweep?: NodeJS.Timeout;
  private localSweep?: NodeJS.Timeout;

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  onModuleInit(): void {
    this.sweep = setInterval(() => {
      this.db.query('DELETE FROM rate_limits WHERE expires_at <= now()').catch(() => undefined);
    }, SWEEP_MS);
    this.sweep.unref();
    this.localSweep = setInterval(() => {
      const now = Date.now();
      for (const [key, window] of this.local) if (window.expiresAt <= now) this.local.delete(key);
    }, LOCAL_SWEEP_MS);
    this.localSweep.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweep);
    clearInterval(this.localSweep);
    this.local.clear();
  }

  increment(
    key: string,
    ttl: number,
    limit: number,
    _blockDuration: number,
    throttlerName: string,
  ): Promise<Counted> {
    if (!SHARED_LIMITS.includes(throttlerName)) {
      return Promise.resolve(this.counted(key, ttl, limit));
    }
    return this.shared(key, ttl, limit);
  }

  private counted(key: string, ttl: number, limit: number): Counted {
    const now = Date.now();
    let window = this.local.get(key);
    if (!window || window.expiresAt <= now) {
      window = { hits: 0, expiresAt: now + ttl };
      this.local.set(key, window);
    }
    window.hits += 1;
    return verdict(window.hits, window.expiresAt - now, limit);
  }

  private async shared(key: string, ttl: number, limit: number): Promise<Counted> {
    const [row] = await this.db.query<{ hits: number; left_ms: number }[]>(
      `INSERT INTO rate_limits (key, hits, expires_at)
       VALUES ($1, 1, now() + make_interval(secs => $2 / 1000.0))
       ON CONFLICT (key) DO UPDATE SET
         hits = CASE WHEN rate_limits.expires_at <= now() THEN 1 ELSE rate_limits.hits + 1 END,
         expires_at = CASE WHEN rate_limits.expires_at <= now() THEN EXCLUDED.expires_at
                           ELSE rate_limits.expires_at END
       RETURNING hits, (extract(epoch FROM expires_at - now()) * 1000)::int AS left_ms`,
      [key, ttl],
    );
    return verdict(row.hits, row.left_ms, limit);
  }
}

// What the throttler (and the gateway) want to know of a window, in its units: seconds.
function verdict(hits: number, leftMs: number, limit: number): Counted {
  const seconds = Math.max(1, Math.ceil(leftMs / 1000));
  const isBlocked = hits > limit;
  return {
    totalHits: hits,
    timeToExpire: seconds,
    isBlocked,
    timeToBlockExpire: isBlocked ? seconds : 0,
  };
}
