import { join } from 'node:path';
import { closedLoop } from '../lib/load';
import { measure, Sample } from '../lib/sample';
import { startServer, Server } from '../lib/server';
import { alternation, median, summarise } from '../lib/stats';
import { ROOT, statusRoute } from '../lib/status-route';
import { BenchContext, FigureResult } from './figure';

// The product, and the bare Nest app of bench/baselines/nest-status.mjs in its two variants.
const SIDES = ['product', 'request', 'singleton'] as const;
type Side = (typeof SIDES)[number];

// Request scope: the status route vs the same route on singletons, in server CPU per request.
// (a) bare Nest request-scoped / bare Nest singletons: what the mechanism costs by itself;
// (b) the product / bare Nest singletons: what the product pays over a lean Nest app that has no
// request-scoped graph. The target is for the product once its per-request graph is small; (a)
// shows how much of (b) request scope alone explains.
export async function scopeFigure(ctx: BenchContext): Promise<FigureResult> {
  const route = await statusRoute(await ctx.database('scope'), await ctx.port());
  const servers: Partial<Record<Side, Server>> = { product: route.product };
  try {
    for (const scope of ['request', 'singleton'] as const) {
      servers[scope] = await startServer(
        `nest-${scope}`,
        await ctx.port(),
        [join(ROOT, 'bench/baselines/nest-status.mjs')],
        { ...route.env, SCOPE: scope },
      );
    }
    const target = (side: Side) => route.target(servers[side]!);
    for (const side of SIDES) await closedLoop(target(side), ctx.clients, ctx.warmupSeconds);

    const closed: Record<Side, Sample[]> = { product: [], request: [], singleton: [] };
    for (const order of alternation(ctx.rounds, SIDES)) {
      for (const side of order) {
        closed[side].push(
          await measure(servers[side]!.pid, target(side), ctx.clients, ctx.seconds),
        );
      }
    }
    const cpu = (side: Side) =>
      `${median(closed[side].map((s) => s.cpuPerRequestUs)).toFixed(0)} us`;
    const ratio = (side: Side) =>
      summarise(
        closed[side].map((s, i) => s.cpuPerRequestUs / closed.singleton[i].cpuPerRequestUs),
      );
    return {
      name: 'scope',
      title: 'Request scope: the status route vs the same route on singletons',
      columns: ['measured', 'baseline (bare Nest, singletons)'],
      rows: [
        {
          figure: 'server CPU per request, bare Nest request-scoped (the mechanism)',
          product: cpu('request'),
          baseline: cpu('singleton'),
          ratio: ratio('request'),
          target: '<= 1.15x',
        },
        {
          figure: 'server CPU per request, the product',
          product: cpu('product'),
          baseline: cpu('singleton'),
          ratio: ratio('product'),
          target: '<= 1.15x',
        },
      ],
      errors: SIDES.reduce((n, side) => n + closed[side].reduce((m, s) => m + s.errors, 0), 0),
    };
  } finally {
    for (const server of Object.values(servers)) await server.stop();
  }
}
