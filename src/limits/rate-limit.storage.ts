import { Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { ThrottlerStorage, ThrottlerStorageService } from '@nestjs/throttler';
import { DataSource } from 'typeorm';

// The limits every instance counts together (in PostgreSQL): a user's run starts. The others
// (requests and frames a minute) are counted in each instance's memory: they guard the instance,
// and a database write per request would cost more than what they protect.
export const SHARED_LIMITS: readonly string[] = ['starts'];

const SWEEP_MS = 10 * 60_000;

interface Counted {
  totalHits: number;
  timeToExpire: number;
  isBlocked: boolean;
  timeToBlockExpire: number;
}

// One fixed window per key: the first hit opens it for `ttl`; every hit in it counts; past
// `limit` the caller is refused until it closes. The shared ones are one row per key, bumped in
// one statement, so two instances can never let more than `limit` through together.
@Injectable()
export class RateLimitStorage implements ThrottlerStorage, OnModuleInit, OnApplicationShutdown {
  private readonly local = new ThrottlerStorageService();
  private sweep?: NodeJS.Timeout;

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  onModuleInit(): void {
    this.sweep = setInterval(() => {
      this.db.query('DELETE FROM rate_limits WHERE expires_at <= now()').catch(() => undefined);
    }, SWEEP_MS);
    this.sweep.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweep);
    this.local.onApplicationShutdown();
  }

  increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<Counted> {
    if (!SHARED_LIMITS.includes(throttlerName)) {
      return this.local.increment(key, ttl, limit, blockDuration, throttlerName);
    }
    return this.shared(key, ttl, limit);
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
    const seconds = Math.max(1, Math.ceil(row.left_ms / 1000));
    const isBlocked = row.hits > limit;
    return {
      totalHits: row.hits,
      timeToExpire: seconds,
      isBlocked,
      timeToBlockExpire: isBlocked ? seconds : 0,
    };
  }
}
