import { Client } from 'pg';
import { join } from 'node:path';
import { Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { writeFileSync } from 'node:fs';
import { cpuSeconds } from '../lib/cpu';
import { Inspector } from '../lib/inspector';
import { deltaText, FakeOpenAi, probe, startFakeOpenAi } from '../lib/fake-openai';
import { clientTokens, productEnv, QUERY, ROOT, startProduct } from '../lib/product';
import { startServer, Server } from '../lib/server';
import { runOnce } from '../lib/runs-client';
import { quantile, summarise } from '../lib/stats';
import { BenchContext, FigureResult, FigureRow } from './figure';

type Side = 'product' | 'each' | 'group';
const SIDES: Side[] = ['product', 'each', 'group'];
const NAMES: Record<Side, string> = {
  product: 'product',
  each: 'bare pg, a commit per write',
  group: 'bare pg, group commit',
};
const CHANNELS: Record<Side, string> = {
  product: 'netra_run_events',
  each: 'bench_stream_events',
  group: 'bench_stream_events',
};
// What one instance must hold at a step to carry it.
const MAX_LAG_P99_MS = 250;
const MAX_DURATION_RATIO = 1.25;
// A step whose runs have not all ended by then counts the rest as not complete.
const STEP_LIMIT_MS = 60_000;

interface Step {
  runs: number;
  complete: number;
  // Run duration p99 (POST to agent_completed at the client) over the provider's own duration.
  durationRatioP99: number;
  durationP99Ms: number;
  // From the provider writing a delta to the client holding its text, p99 over every delta.
  lagP99Ms: number;
  lagP50Ms: number;
  startP50Ms: number;
  cpuPerEventUs: number;
  events: number;
  commitsPerEvent: number;
  commitsPerSecond: number;
  notifyingCommitsPerSecond: number;
  carried: boolean;
}

// How many answers one instance streams at once: N runs started together, each answered by a fake
// OpenAI-compatible provider (in this process) with DELTAS deltas INTERVAL_MS apart and followed
// over SSE, at steps up to 400. A step is carried when every run completes, the provider-to-client
// p99 stays within 250 ms and the run duration p99 within 1.25x the provider's. Against two bare
// baselines doing the same durable job (bench/baselines/stream-pg.mjs): one transaction and one
// NOTIFY per write, and group commit.
export async function streamFigure(ctx: BenchContext): Promise<FigureResult> {
  const smoke = ctx.sockets < 100;
  const deltas = smoke ? 10 : 300;
  const intervalMs = smoke ? 10 : 33;
  // BENCH_STREAM_STEPS=100,200 measures only those steps.
  const chosen = process.env.BENCH_STREAM_STEPS?.split(',').map(Number);
  const steps = chosen ?? (smoke ? [2, 4] : [10, 25, 50, 100, 200, 400]);
  const stats = new Client({ connectionString: ctx.adminUrl });
  await stats.connect();
  const results: Record<Side, Step[]> = { product: [], each: [], group: [] };
  try {
    const tokens = await clientTokens(Math.max(...steps));
    for (const runs of steps) {
      for (const side of SIDES) {
        const last = results[side][results[side].length - 1];
        // Past the first step a side could not carry, one more shows how it fails; then stop.
        if (last && !last.carried && results[side].filter((s) => !s.carried).length >= 2) continue;
        results[side].push(await step(ctx, stats, side, runs, tokens, deltas, intervalMs));
      }
    }
  } finally {
    await stats.end();
  }
  const carried = (side: Side) =>
    Math.max(0, ...results[side].filter((s) => s.carried).map((s) => s.runs));
  const at = (side: Side, runs: number) => results[side].find((s) => s.runs === runs);
  const rows: FigureRow[] = [
    {
      figure:
        'most runs streaming at once with every run complete, p99 <= 250 ms, duration <= 1.25x',
      product: String(carried('product')),
      baseline: String(carried('each')),
      ratio: summarise([carried('product') / Math.max(1, carried('each'))]),
      target: '>= 200 and >= the baseline',
    },
  ];
  const compare = steps.filter((n) => at('product', n) && at('each', n));
  for (const n of compare) {
    const p = at('product', n)!;
    const b = at('each', n)!;
    rows.push({
      figure: `${n} runs: server CPU per streamed event`,
      product: `${p.cpuPerEventUs.toFixed(0)} us`,
      baseline: `${b.cpuPerEventUs.toFixed(0)} us`,
      ratio: summarise([p.cpuPerEventUs / b.cpuPerEventUs]),
      target: '<= 2x',
    });
  }
  for (const n of compare.filter((x) => x >= 100)) {
    const p = at('product', n)!;
    const b = at('each', n)!;
    rows.push({
      figure: `${n} runs: PostgreSQL commits per streamed event`,
      product: p.commitsPerEvent.toFixed(2),
      baseline: b.commitsPerEvent.toFixed(2),
      ratio: summarise([p.commitsPerEvent / b.commitsPerEvent]),
      target: n === 200 ? '<= 0.25 (product)' : '-',
    });
    rows.push({
      figure: `${n} runs: notifying commits per second`,
      product: p.notifyingCommitsPerSecond.toFixed(0),
      baseline: b.notifyingCommitsPerSecond.toFixed(0),
      ratio: summarise([p.notifyingCommitsPerSecond / b.notifyingCommitsPerSecond]),
      target: '<= 60 (product)',
    });
  }
  const line = (side: Side) =>
    results[side]
      .map(
        (s) =>
          `${s.runs}: ${s.complete}/${s.runs} complete, duration p99 ${(s.durationP99Ms / 1000).toFixed(1)} s ` +
          `(${s.durationRatioP99.toFixed(2)}x), provider-to-client p50/p99 ${s.lagP50Ms.toFixed(0)}/` +
          `${s.lagP99Ms.toFixed(0)} ms, start POST p50 ${s.startP50Ms.toFixed(0)} ms, ` +
          `${s.cpuPerEventUs.toFixed(0)} us CPU/event, ${s.commitsPerEvent.toFixed(2)} commits/event ` +
          `(${s.commitsPerSecond.toFixed(0)}/s, ${s.notifyingCommitsPerSecond.toFixed(0)} notifying/s)` +
          (s.carried ? '' : ' **not carried**'),
      )
      .join('; ');
  return {
    name: 'stream',
    title: 'Answers streaming at once on one instance (fake provider, SSE followers)',
    columns: ['product', NAMES.each],
    rows,
    errors: SIDES.flatMap((side) => results[side]).reduce((n, s) => n + s.runs - s.complete, 0),
    errorsLabel: 'runs not complete',
    round: `one pass over the steps, ${deltas} deltas ${intervalMs} ms apart a run`,
    method:
      `Each step starts N runs at once (each its own user), the provider streaming ${deltas} ` +
      `deltas ${intervalMs} ms apart to each, and follows every run over SSE from its start; the ` +
      'lag of a delta is from the provider writing it to the client holding its text, both on ' +
      "this process's clock. CPU is the server process's over the step; commits are xact_commit " +
      "of the side's database over the step, every listener's included; notifying commits are " +
      'counted by a LISTEN connection of the generator (the notifications of one commit arrive ' +
      'together).',
    scaling: {
      x: 'runs streaming at once',
      y: 'provider-to-client p99 (ms)',
      points: steps
        .filter((n) => at('product', n) && at('each', n))
        .map((n) => ({
          x: n,
          product: at('product', n)!.lagP99Ms,
          baseline: at('each', n)!.lagP99Ms,
        })),
    },
    notes: SIDES.map((side) => `${NAMES[side]}: ${line(side)}.`),
  };
}

async function step(
  ctx: BenchContext,
  stats: Client,
  side: Side,
  runs: number,
  tokens: string[],
  deltas: number,
  intervalMs: number,
): Promise<Step> {
  const fake = await startFakeOpenAi({ chunks: deltas, intervalMs });
  const database = await ctx.database(`stream_${side}_${runs}`);
  const llm = {
    LLM_PROVIDER: 'openai-compatible',
    LLM_MODEL: 'bench-fake',
    LLM_BASE_URL: fake.baseUrl,
  };
  let server: Server | undefined;
  const notifications = new Client({ connectionString: database });
  // A connection per request, as N separate clients would hold them.
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
  try {
    // BENCH_STREAM_PROFILE=<dir>: the product's CPU profile of each step, over its inspector.
    const profileDir = side === 'product' ? process.env.BENCH_STREAM_PROFILE : undefined;
    const inspectPort = profileDir ? await ctx.port() : 0;
    server =
      side === 'product'
        ? await startProduct(ctx, database, {
            ...llm,
            WORKER_CONCURRENCY: String(Math.max(10, runs)),
            ...(profileDir ? { NODE_OPTIONS: `--inspect=127.0.0.1:${inspectPort}` } : {}),
          })
        : await startServer(
            side,
            await ctx.port(),
            [join(ROOT, 'bench/baselines/stream-pg.mjs')],
            productEnv(database, { ...llm, COMMIT: side }),
          );
    // Warm-up: one run end to end.
    await follow(agent, server, tokens[0], `${QUERY} ${probe(-1)}`, fake, () => undefined);
    let notifying = 0;
    let tick = false;
    await notifications.connect();
    notifications.on('notification', () => {
      if (tick) return;
      tick = true;
      notifying += 1;
      setImmediate(() => (tick = false));
    });
    await notifications.query(`LISTEN ${CHANNELS[side]}`);
    const inspector = profileDir ? await Inspector.connect(inspectPort) : undefined;
    await inspector?.call('Profiler.enable');
    await inspector?.call('Profiler.start');
    const commitsBefore = await commits(stats, database);
    const cpuBefore = cpuSeconds(server.pid);
    const started = performance.now();
    const lags: number[] = [];
    const outcomes = await Promise.all(
      Array.from({ length: runs }, (_, i) =>
        follow(agent, server!, tokens[i], `${QUERY} ${probe(i)}`, fake, (lag) =>
          lags.push(lag),
        ).catch(() => null),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    const cpu = cpuSeconds(server.pid) - cpuBefore;
    if (inspector && profileDir) {
      const { profile } = (await inspector.call('Profiler.stop')) as { profile: unknown };
      writeFileSync(join(profileDir, `stream-${runs}.cpuprofile`), JSON.stringify(profile));
      await inspector.close();
    }
    await delay(1_100); // backends report their counts at most once a second
    const commitCount = (await commits(stats, database)) - commitsBefore;
    const done = outcomes.filter((o) => o !== null);
    const providerMs = (deltas - 1) * intervalMs;
    const durations = done.map((o) => o.durationMs);
    const events = done.reduce((n, o) => n + o.events, 0);
    const durationP99Ms = quantile(durations, 0.99);
    const lagP99Ms = quantile(lags, 0.99);
    const result: Step = {
      runs,
      complete: done.length,
      durationP99Ms,
      durationRatioP99: durationP99Ms / providerMs,
      lagP99Ms,
      lagP50Ms: quantile(lags, 0.5),
      startP50Ms: quantile(
        done.map((o) => o.startMs),
        0.5,
      ),
      cpuPerEventUs: (cpu / Math.max(1, events)) * 1e6,
      events,
      commitsPerEvent: commitCount / Math.max(1, events),
      commitsPerSecond: commitCount / seconds,
      notifyingCommitsPerSecond: notifying / seconds,
      carried:
        done.length === runs &&
        lagP99Ms <= MAX_LAG_P99_MS &&
        durationP99Ms <= MAX_DURATION_RATIO * providerMs,
    };
    console.log(`stream: ${NAMES[side]}, ${runs} runs: ${JSON.stringify(result)}`);
    return result;
  } finally {
    agent.destroy();
    await notifications.end().catch(() => undefined);
    await server?.stop();
    await fake.close();
  }
}

async function commits(stats: Client, database: string): Promise<number> {
  const { rows } = await stats.query<{ n: string }>(
    'SELECT xact_commit AS n FROM pg_stat_database WHERE datname = $1',
    [new URL(database).pathname.slice(1)],
  );
  return Number(rows[0].n);
}

interface Outcome {
  durationMs: number;
  startMs: number;
  events: number;
}

// Starts a run and follows it over SSE to agent_completed (bench/lib/runs-client.ts), calling
// `onLag` for each delta of the provider's answer as its text arrives. Rejects after
// STEP_LIMIT_MS: a run not complete by then counts as not complete.
async function follow(
  agent: Agent,
  server: Server,
  token: string,
  query: string,
  fake: FakeOpenAi,
  onLag: (ms: number) => void,
): Promise<Outcome> {
  const tag = /\[probe -?\d+\]/.exec(query)![0];
  // Where each delta's text ends in the answer, to tell which deltas a chunk completed.
  let received = 0;
  let next = 0;
  let nextEnd = deltaText(0).length;
  let events = 0;
  const onEvent = (type: string, at: number, frame: string) => {
    events += 1;
    if (type !== 'agent_response_chunk') return;
    const data = /^data: (.*)$/m.exec(frame)?.[1] ?? '{}';
    received += ((JSON.parse(data) as { data: { text?: string } }).data.text ?? '').length;
    const times = fake.deltaAt.get(tag) ?? [];
    while (next < times.length && nextEnd <= received) {
      onLag(at - times[next]);
      next += 1;
      nextEnd += deltaText(next).length;
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('not complete in time')), STEP_LIMIT_MS);
  });
  try {
    const run = await Promise.race([runOnce(agent, server.port, token, query, { onEvent }), late]);
    return {
      durationMs: run.completedAt - run.startedAt,
      startMs: run.acceptedAt - run.startedAt,
      events,
    };
  } finally {
    clearTimeout(timer);
  }
}
