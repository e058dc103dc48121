import { join } from 'node:path';
import { cpuSeconds } from '../lib/cpu';
import { clientTokens, migratedDatabase, productEnv, ROOT, startProduct } from '../lib/product';
import { RunsLoad, runsLoop } from '../lib/runs-client';
import { startServer, Server } from '../lib/server';
import { alternation, median, quantile, summarise } from '../lib/stats';
import { BenchContext, FigureResult } from './figure';

interface Sample {
  runsPerSecond: number;
  p50Ms: number;
  cpuPerRunMs: number;
  load: RunsLoad;
}

// A run end to end, "What is 17 * 23?" with the offline model: each of ctx.clients clients (each
// its own user) starts a run over REST and follows its SSE stream to agent_completed, then starts
// the next. Against bench/baselines/runs-pg.mjs, node:http + pg writing the same rows in three
// transactions. Runs/s closed loop (the primary figure), the p50 from the POST to agent_completed,
// the server's CPU per run (its own process: the product executes runs in-process, on its pg-boss
// worker; the baseline likewise), and runs/s from 1 client to twice ctx.clients for the chart.
export async function runsFigure(ctx: BenchContext): Promise<FigureResult> {
  // Each side its own database: a product beside the baseline's rows would take them for its own.
  const databases = {
    product: await ctx.database('runs'),
    baseline: await migratedDatabase(ctx, 'runs_baseline'),
  };
  const product = await startProduct(ctx, databases.product);
  let baseline: Server | undefined;
  try {
    baseline = await startServer(
      'baseline',
      await ctx.port(),
      [join(ROOT, 'bench/baselines/runs-pg.mjs')],
      productEnv(databases.baseline),
    );
    const servers = { product, baseline };
    const steps = loadSteps(ctx.clients);
    const tokens = await clientTokens(Math.max(...steps));
    for (const server of [product, baseline])
      await runsLoop(server.port, tokens, ctx.clients, ctx.warmupSeconds);

    const samples = { product: [] as Sample[], baseline: [] as Sample[] };
    for (const order of alternation(ctx.rounds)) {
      for (const side of order) {
        samples[side].push(await measure(servers[side], tokens, ctx.clients, ctx.seconds));
      }
    }
    // Throughput against load, each step alternating which side goes first.
    const points: { x: number; product: number; baseline: number }[] = [];
    const orders = alternation(steps.length);
    for (const [i, clients] of steps.entries()) {
      const rate = { product: 0, baseline: 0 };
      for (const side of orders[i]) {
        const load = await runsLoop(servers[side].port, tokens, clients, ctx.seconds);
        rate[side] = load.runs / load.seconds;
      }
      points.push({ x: clients, ...rate });
    }
    const ratios = (pick: (s: Sample) => number) =>
      summarise(samples.product.map((p, i) => pick(p) / pick(samples.baseline[i])));
    const mid = (side: 'product' | 'baseline', pick: (s: Sample) => number) =>
      median(samples[side].map(pick));
    const all = (side: 'product' | 'baseline') => samples[side].flatMap((s) => s.load.latencies);
    return {
      name: 'runs',
      title: 'A run end to end (REST start, SSE to agent_completed) vs bare pg',
      rows: [
        {
          figure: `runs/s, closed loop, ${ctx.clients} clients`,
          product: mid('product', (s) => s.runsPerSecond).toFixed(1),
          baseline: mid('baseline', (s) => s.runsPerSecond).toFixed(1),
          ratio: ratios((s) => s.runsPerSecond),
          target: '>= 0.60x',
        },
        {
          figure: `p50 start to agent_completed, ${ctx.clients} clients`,
          product: `${mid('product', (s) => s.p50Ms).toFixed(1)} ms`,
          baseline: `${mid('baseline', (s) => s.p50Ms).toFixed(1)} ms`,
          ratio: ratios((s) => s.p50Ms),
          target: '<= 60 ms',
        },
        {
          figure: 'server CPU per run',
          product: `${mid('product', (s) => s.cpuPerRunMs).toFixed(2)} ms`,
          baseline: `${mid('baseline', (s) => s.cpuPerRunMs).toFixed(2)} ms`,
          ratio: ratios((s) => s.cpuPerRunMs),
          target: '-',
        },
      ],
      latencies: { product: all('product'), baseline: all('baseline') },
      chart: { label: `start to agent_completed (ms), ${ctx.clients} clients closed loop` },
      errors: [...samples.product, ...samples.baseline].reduce((n, s) => n + s.load.errors, 0),
      scaling: { x: 'clients', y: 'runs/s', points },
      notes: [
        `Runs/s against clients (one ${ctx.seconds} s closed loop a step, after the rounds): ` +
          points
            .map((p) => `${p.x}: ${p.product.toFixed(1)} vs ${p.baseline.toFixed(1)}`)
            .join('; ') +
          '. The product executes at most WORKER_CONCURRENCY (10, the default) runs at once.',
      ],
    };
  } finally {
    await product.stop();
    await baseline?.stop();
  }
}

// 1 client, a quarter of the figure's, the figure's, twice the figure's (1, 4, 16, 32 for 16).
function loadSteps(clients: number): number[] {
  return [...new Set([1, Math.round(clients / 4), clients, clients * 2])]
    .filter((n) => n >= 1)
    .sort((a, b) => a - b);
}

async function measure(
  server: Server,
  tokens: string[],
  clients: number,
  seconds: number,
): Promise<Sample> {
  const before = cpuSeconds(server.pid);
  const load = await runsLoop(server.port, tokens, clients, seconds);
  const cpu = cpuSeconds(server.pid) - before;
  if (load.runs === 0) throw new Error(`${server.name}: no run completed (${load.errors} errors)`);
  return {
    runsPerSecond: load.runs / load.seconds,
    p50Ms: quantile(load.latencies, 0.5),
    cpuPerRunMs: (cpu / load.runs) * 1000,
    load,
  };
}
