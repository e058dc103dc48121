import { join } from 'node:path';
import { closedLoop, fixedRate, LoadResult } from '../lib/load';
import { measure, Sample } from '../lib/sample';
import { startServer, Server } from '../lib/server';
import { alternation, median, quantile, summarise } from '../lib/stats';
import { ROOT, statusRoute } from '../lib/status-route';
import { BenchContext, FigureResult } from './figure';

// The product and the two bare baselines: Express 5 + pg with jose (what the product verifies
// with), and with jsonwebtoken (what the requests/s target is against).
const SIDES = ['product', 'jose', 'jsonwebtoken'] as const;
type Side = (typeof SIDES)[number];

// GET /api/agent/{run_id}/status against bare Express 5 + pg doing the same read with the same JWT
// check: server CPU per request vs jose (the primary figure), requests/s closed loop vs
// jsonwebtoken (and vs jose), and p99 at a fixed rate of half the product's capacity vs jose.
export async function statusFigure(ctx: BenchContext): Promise<FigureResult> {
  const route = await statusRoute(await ctx.database('status'), await ctx.port());
  const servers: Partial<Record<Side, Server>> = { product: route.product };
  try {
    for (const library of ['jose', 'jsonwebtoken'] as const) {
      servers[library] = await startServer(
        library,
        await ctx.port(),
        [join(ROOT, 'bench/baselines/express-status.mjs')],
        { ...route.env, JWT_LIBRARY: library },
      );
    }
    const target = (side: Side) => route.target(servers[side]!);
    // Warm all (JIT, pools) before anything counts.
    for (const side of SIDES) await closedLoop(target(side), ctx.clients, ctx.warmupSeconds);

    const closed: Record<Side, Sample[]> = { product: [], jose: [], jsonwebtoken: [] };
    const open = { product: [] as LoadResult[], jose: [] as LoadResult[] };
    let rate = 0;
    for (const order of alternation(ctx.rounds, SIDES)) {
      for (const side of order) {
        closed[side].push(
          await measure(servers[side]!.pid, target(side), ctx.clients, ctx.seconds),
        );
      }
      // Half the product's capacity, as measured in the first round, for both sides. The fixed
      // rate is against jose only: the p99 row is the product's latency over the same verify.
      rate ||= Math.max(10, Math.round(closed.product[0].rps / 2));
      for (const side of order) {
        if (side === 'jsonwebtoken') continue;
        open[side].push(await fixedRate(target(side), rate, ctx.seconds));
      }
    }
    const ratios = (baseline: Side, pick: (s: Sample) => number) =>
      summarise(closed.product.map((p, i) => pick(p) / pick(closed[baseline][i])));
    const medianOf = (side: Side, pick: (s: Sample) => number) => median(closed[side].map(pick));
    const cpu = (s: Sample) => s.cpuPerRequestUs;
    const rps = (s: Sample) => s.rps;
    const p99 = (r: LoadResult) => quantile(r.latencies, 0.99);
    const rpsRow = (baseline: Side, target: string) => ({
      figure: `requests/s, closed loop, ${ctx.clients} clients, vs ${baseline}`,
      product: medianOf('product', rps).toFixed(0),
      baseline: medianOf(baseline, rps).toFixed(0),
      ratio: ratios(baseline, rps),
      target,
    });
    return {
      name: 'status',
      title:
        'GET /api/agent/{run_id}/status vs Express 5 + pg + jose (requests/s also + jsonwebtoken)',
      rows: [
        {
          figure: 'server CPU per request',
          product: `${medianOf('product', cpu).toFixed(0)} us`,
          baseline: `${medianOf('jose', cpu).toFixed(0)} us`,
          ratio: ratios('jose', cpu),
          target: '<= 1.6x',
        },
        rpsRow('jsonwebtoken', '>= 0.70x'),
        // The same verify as the product: what is left is the rest of the route.
        rpsRow('jose', 'none (reference)'),
        {
          figure: `p99 at ${rate} requests/s (half the product's capacity)`,
          product: `${median(open.product.map(p99)).toFixed(2)} ms`,
          baseline: `${median(open.jose.map(p99)).toFixed(2)} ms`,
          ratio: summarise(open.product.map((r, i) => p99(r) / p99(open.jose[i]))),
          target: '<= 1.3x',
        },
      ],
      latencies: {
        product: open.product.flatMap((r) => r.latencies),
        baseline: open.jose.flatMap((r) => r.latencies),
      },
      errors:
        SIDES.reduce((n, side) => n + closed[side].reduce((m, s) => m + s.errors, 0), 0) +
        [...open.product, ...open.jose].reduce((n, r) => n + r.errors, 0),
    };
  } finally {
    for (const server of Object.values(servers)) await server.stop();
  }
}
