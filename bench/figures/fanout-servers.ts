import { join } from 'node:path';
import { startServer, Server } from '../lib/server';
import { PRODUCT_MAIN, productEnv, ROOT, UNLIMITED } from '../lib/product';
import { SECRET } from '../lib/tokens';
import { BenchContext } from './figure';

// The user who owns the followed run; every client of a run is its owner (a run is followed only by
// its user), each with a token of its own.
export const RUN_OWNER = 'bench';
// An API instance (no worker executes and finishes the run the figures follow, and no sweeper
// hands that job-less `running` run a job), with the connection caps of one user raised.
const FANOUT_ENV = {
  APP_ROLE: 'api',
  MAX_SOCKETS_PER_USER: UNLIMITED,
  MAX_STREAMS_PER_USER: UNLIMITED,
  RATE_LIMIT_FRAMES: UNLIMITED,
};

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
    productEnv(database, FANOUT_ENV),
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
