import { join } from 'node:path';
import { BenchContext } from '../figures/figure';
import { startServer, Server } from './server';
import { SECRET, signTokens } from './tokens';

export const ROOT = join(__dirname, '..', '..');
// The build measured: this checkout's, or another's (BENCH_PRODUCT=<checkout>/dist/src/main.js) to
// set a change against what came before it in the same conditions.
export const PRODUCT_MAIN = process.env.BENCH_PRODUCT ?? join(ROOT, 'dist/src/main.js');
export const QUERY = 'What is 17 * 23?';

// Limits that would refuse a load generator (thousands of connections or runs of few users)
// raised, so what is measured is the work, not the abuse bounds.
export const UNLIMITED = '1000000000';

// The product as every figure starts it: production mode, logs off, the per-user budgets out of
// the way, and `extra`. Everything else is the default configuration (WORKER_CONCURRENCY 10,
// DB_POOL_SIZE 20, the offline model).
export function productEnv(
  database: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    JWT_SECRET: SECRET,
    DATABASE_URL: database,
    DOCS_ENABLED: 'false',
    RATE_LIMIT_REQUESTS: UNLIMITED,
    RATE_LIMIT_RUN_STARTS: UNLIMITED,
    ...extra,
  };
}

export async function startProduct(
  ctx: BenchContext,
  database: string,
  extra: Record<string, string> = {},
): Promise<Server> {
  return startServer('product', await ctx.port(), [PRODUCT_MAIN], productEnv(database, extra));
}

// A fresh database with the product's schema (its migrations run at start; the product is stopped
// again), for a baseline that writes the product's tables without the product beside it: a
// running product would take the baseline's runs for its own (RunSweeper gives every queued run
// without a job one).
export async function migratedDatabase(ctx: BenchContext, name: string): Promise<string> {
  const database = await ctx.database(name);
  const product = await startProduct(ctx, database);
  await product.stop();
  return database;
}

// One token per simulated client, each its own user (`sub`), as `npm run token` makes them: the
// per-user bounds (active runs, open streams) then apply per client, as they would in use.
export function clientTokens(count: number): Promise<string[]> {
  return signTokens((i) => `bench-client-${i}`, 'client', count);
}
