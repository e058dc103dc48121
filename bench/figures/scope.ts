import { join } from 'node:path';
import { closedLoop } from '../lib/load';
import { measure, Sample } from '../lib/sample';
import { startServer, Server } from '../lib/server';
import { alternation, median, summarise } from '../lib/stats';
import { ROOT, statusRoute } from '../lib/status-route';
import { BenchContext, FigureResult } from './figure';

// The product, the same product built with singletons when given, and the bare Nest app of
// bench/baselines/nest-status.mjs in its three variants.
const BARE = ['request', 'durable', 'singleton'] as const;
type Side = 'product' | 'singletons' | (typeof BARE)[number];

// The product built with singletons (the user in an AsyncLocalStorage instead of request-scoped
// services), e.g. a build of fae5f69, the commit before the services became request-scoped:
// BENCH_SINGLETON_PRODUCT=<checkout>/dist/src/main.js. Without it, the product is compared with
// the bare Nest app on singletons only.
const SINGLETON_PRODUCT = process.env.BENCH_SINGLETON_PRODUCT;

// Request scope: the status route, ctx.users users taking turns (each user's subtree is built
// once, then reused), in server CPU per request.
// (a) bare Nest request-scoped and durable-per-user vs bare Nest singletons: what the mechanism
//     costs by itself, built per request and built per user;
// (b) the product (durable request-scoped services) vs the same product on singletons: what request
//     scope costs the product (the target);
// (c) the product vs bare Nest singletons: what the product pays over a lean Nest app.
export async function scopeFigure(ctx: BenchContext): Promise<FigureResult> {
  const route = await statusRoute(await ctx.database('scope'), await ctx.port(), ctx.users);
  const servers: Partial<Record<Side, Server>> = { product: route.product };
  try {
    for (const scope of BARE) {
      servers[scope] = await startServer(
        `nest-${scope}`,
        await ctx.port(),
        [join(ROOT, 'bench/baselines/nest-status.mjs')],
        { ...route.env, SCOPE: scope },
      );
    }
    if (SINGLETON_PRODUCT) {
      servers.singletons = await startServer(
        'product-singletons',
        await ctx.port(),
        [SINGLETON_PRODUCT],
        route.env,
      );
    }
    const sides = Object.keys(servers) as Side[];
    const target = (side: Side) => route.target(servers[side]!);
    for (const side of sides) await closedLoop(target(side), ctx.clients, ctx.warmupSeconds);

    const closed: Partial<Record<Side, Sample[]>> = {};
    for (const order of alternation(ctx.rounds, sides)) {
      for (const side of order) {
        (closed[side] ??= []).push(
          await measure(servers[side]!.pid, target(side), ctx.clients, ctx.seconds),
        );
      }
    }
    const cpu = (side: Side) =>
      `${median(closed[side]!.map((s) => s.cpuPerRequestUs)).toFixed(0)} us`;
    const ratio = (side: Side, base: Side) =>
      summarise(closed[side]!.map((s, i) => s.cpuPerRequestUs / closed[base]![i].cpuPerRequestUs));
    const row = (figure: string, side: Side, base: Side, target = '') => ({
      figure: `${figure} (${ctx.users} users)`,
      product: cpu(side),
      baseline: cpu(base),
      ratio: ratio(side, base),
      target,
    });
    return {
      name: 'scope',
      title: 'Request scope: the status route vs the same route on singletons',
      columns: ['measured', 'baseline (singletons)'],
      rows: [
        row('bare Nest, request-scoped, built per request', 'request', 'singleton'),
        row('bare Nest, request-scoped, durable per user', 'durable', 'singleton'),
        ...(SINGLETON_PRODUCT
          ? [row('the product vs the product on singletons', 'product', 'singletons', '<= 1.15x')]
          : []),
        row('the product vs bare Nest on singletons', 'product', 'singleton'),
      ],
      errors: sides.reduce((n, side) => n + closed[side]!.reduce((m, s) => m + s.errors, 0), 0),
    };
  } finally {
    for (const server of Object.values(servers)) await server.stop();
  }
}
