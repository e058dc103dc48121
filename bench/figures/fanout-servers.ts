import { join } from 'node:path';
import { startServer, Server } from '../lib/server';
import { PRODUCT_MAIN, ROOT } from '../lib/product';
import { SECRET } from '../lib/tokens';
import { BenchContext } from './figure';

// The user who owns the followed run; every client of a run is its owner (a run is followed only by
// its user), each with a token of its own.
export const RUN_OWNER = 'bench';
// Limits that would refuse the figures' thousands of connections of one user: raised, so what is
// measured is the fan-out, not the abuse bounds.
const UNLIMITED = '1000000000';

export function productEnv(database: string): Record<string, string> {
  return {
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    JWT_SECRET: SECRET,
    DATABASE_URL: database,
    DOCS_ENABLED: 'false',
    // An API instance: no worker executes (and finishes) the run the figures follow, and no
    // sweeper hands that job-less `running` run a job.
    APP_ROLE: 'api',
    MAX_SOCKETS_PER_USER: UNLIMITED,
    MAX_STREAMS_PER_USER: UNLIMITED,
    RATE_LIMIT_FRAMES: UNLIMITED,
    RATE_LIMIT_REQUESTS: UNLIMITED,
  };
}

// `node [nodeArgs] dist/src/main.js`, pinned to the servers' core.
export async function startProduct(
  ctx: BenchContext,
  database: string,
  nodeArgs: string[] = [],
): Promise<Server> {
  return startServer(
    'product',
    await ctx.port(),
    [...nodeArgs, PRODUCT_MAIN],
    productEnv(database),
  );
}

// `node [nodeArgs] bench/baselines/<script>` on the same database.
export async function startBaseline(
  ctx: BenchContext,
  script: string,
  database: string,
  nodeArgs: string[] = [],
): Promise<Server> {
  return startServer(
    `baseline ${script}`,
    await ctx.port(),
    [...nodeArgs, join(ROOT, 'bench/baselines', script)],
    { NODE_ENV: 'production', JWT_SECRET: SECRET, DATABASE_URL: database },
  );
}
