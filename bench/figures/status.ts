import { SignJWT } from 'jose';
import { join } from 'node:path';
import { cpuSeconds } from '../lib/cpu';
import { closedLoop, fixedRate, LoadResult, Target } from '../lib/load';
import { startServer, Server } from '../lib/server';
import { alternation, quantile, summarise } from '../lib/stats';
import { BenchContext, FigureResult } from './figure';

const ROOT = join(__dirname, '..', '..');
const SECRET = 'bench-secret-0123456789abcdef0123456789';

interface Sample {
  cpuPerRequestUs: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
}

// GET /api/agent/{run_id}/status against bare Express 5 + pg + jose doing the same read with the
// same JWT check: server CPU per request (the primary figure), requests/s closed loop, and p99 at a
// fixed rate of half the product's capacity.
export async function statusFigure(ctx: BenchContext): Promise<FigureResult> {
  const database = await ctx.database('status');
  const env = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    JWT_SECRET: SECRET,
    DATABASE_URL: database,
    DOCS_ENABLED: 'false',
    // The route is measured, not the rate limiter's refusals.
    RATE_LIMIT_REQUESTS: '1000000000',
  };
  const product = await startServer(
    'product',
    await ctx.port(),
    [join(ROOT, 'dist/src/main.js')],
    env,
  );
  let baseline: Server | undefined;
  try {
    const token = await signToken();
    const runId = await finishedRun(product.port, token);
    baseline = await startServer(
      'baseline',
      await ctx.port(),
      [join(ROOT, 'bench/baselines/express-status.mjs')],
      env,
    );
    const servers = { product, baseline };
    const target = (server: Server): Target => ({
      port: server.port,
      path: `/api/agent/${runId}/status`,
      headers: { authorization: `Bearer ${token}` },
    });
    // Warm both (JIT, pools) before anything counts.
    for (const server of [product, baseline])
      await closedLoop(target(server), ctx.clients, ctx.warmupSeconds);

    const closed = { product: [] as Sample[], baseline: [] as Sample[] };
    const open = { product: [] as LoadResult[], baseline: [] as LoadResult[] };
    let rate = 0;
    for (const order of alternation(ctx.rounds)) {
      for (const side of order) {
        closed[side].push(await measure(servers[side].pid, target(servers[side]), ctx));
      }
      // Half the product's capacity, as measured in the first round, for both sides.
      rate ||= Math.max(10, Math.round(closed.product[0].rps / 2));
      for (const side of order) {
        open[side].push(await fixedRate(target(servers[side]), rate, ctx.seconds));
      }
    }
    const ratios = (pick: (s: Sample) => number) =>
      summarise(closed.product.map((p, i) => pick(p) / pick(closed.baseline[i])));
    const p99 = (r: LoadResult) => quantile(r.latencies, 0.99);
    return {
      name: 'status',
      title: 'GET /api/agent/{run_id}/status vs Express 5 + pg + jose',
      rows: [
        {
          figure: 'server CPU per request',
          product: `${median(closed.product.map((s) => s.cpuPerRequestUs)).toFixed(0)} us`,
          baseline: `${median(closed.baseline.map((s) => s.cpuPerRequestUs)).toFixed(0)} us`,
          ratio: ratios((s) => s.cpuPerRequestUs),
          target: '<= 1.6x',
        },
        {
          figure: `requests/s, closed loop, ${ctx.clients} clients`,
          product: median(closed.product.map((s) => s.rps)).toFixed(0),
          baseline: median(closed.baseline.map((s) => s.rps)).toFixed(0),
          ratio: ratios((s) => s.rps),
          target: '>= 0.70x',
        },
        {
          figure: `p99 at ${rate} requests/s (half the product's capacity)`,
          product: `${median(open.product.map(p99)).toFixed(2)} ms`,
          baseline: `${median(open.baseline.map(p99)).toFixed(2)} ms`,
          ratio: summarise(open.product.map((r, i) => p99(r) / p99(open.baseline[i]))),
          target: '<= 1.3x',
        },
      ],
      latencies: {
        product: open.product.flatMap((r) => r.latencies),
        baseline: open.baseline.flatMap((r) => r.latencies),
      },
      errors: [...open.product, ...open.baseline].reduce((n, r) => n + r.errors, 0),
    };
  } finally {
    await product.stop();
    await baseline?.stop();
  }
}

function median(values: number[]): number {
  return quantile(values, 0.5);
}

async function measure(pid: number, target: Target, ctx: BenchContext): Promise<Sample> {
  const before = cpuSeconds(pid);
  const result = await closedLoop(target, ctx.clients, ctx.seconds);
  const cpu = cpuSeconds(pid) - before;
  if (result.requests === 0) throw new Error(`no request answered 200 (${result.errors} errors)`);
  return {
    cpuPerRequestUs: (cpu / result.requests) * 1e6,
    rps: result.requests / result.seconds,
    p50Ms: quantile(result.latencies, 0.5),
    p99Ms: quantile(result.latencies, 0.99),
  };
}

// A token of the product's own secret, as `npm run token` makes it.
function signToken(): Promise<string> {
  return new SignJWT({ sub: 'bench' })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(SECRET));
}

// A finished run of the user: the row both servers read.
async function finishedRun(port: number, token: string): Promise<string> {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const started = await fetch(`http://127.0.0.1:${port}/api/agent/run_agent`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ query: 'What is 17 * 23?' }),
  }).then((r) => r.json() as Promise<{ run_id: string }>);
  // The SSE stream ends with the run's terminal event.
  const stream = await fetch(`http://127.0.0.1:${port}/api/agent/${started.run_id}/stream`, {
    headers,
  });
  await stream.text();
  return started.run_id;
}
