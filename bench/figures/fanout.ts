import { cpuSeconds } from '../lib/cpu';
import { Deliveries } from '../lib/deliveries';
import { EventCommitter } from '../lib/event-committer';
import { requireOpenFiles } from '../lib/open-files';
import { createRun } from '../lib/run-fixture';
import { Server } from '../lib/server';
import { sseChannel } from '../lib/sse-subscriber';
import { alternation, median, quantile, summarise } from '../lib/stats';
import { Channel, Subscriber } from '../lib/subscriber';
import { signTokens } from '../lib/tokens';
import { windowed } from '../lib/windowed';
import { wsChannel } from '../lib/ws-subscriber';
import { RUN_OWNER, startBaseline, startProduct } from './fanout-servers';
import { BenchContext, FigureResult } from './figure';

// The most events one run writes a second: its coalescer flushes an answer chunk every 50 ms.
export const EVENTS_PER_SECOND = 20;
// Connects in flight at once: under the servers' listen backlog (511).
export const CONNECT_WINDOW = 100;
// How long the last event's frames may take to reach every client; what is missing then is an
// error.
const DRAIN_MS = 10_000;

interface Spec {
  name: string;
  channel: Channel;
  baseline: string;
  title: string;
}

interface Sample {
  cpuPerFrameUs: number;
  p50Ms: number;
  p99Ms: number;
  latencies: number[];
  errors: number;
}

// One run followed by N WebSockets (`subscribe` on /ws) against ws + pg + jose.
export const wsFanoutFigure = (ctx: BenchContext) =>
  fanoutFigure(ctx, {
    name: 'ws-fanout',
    channel: wsChannel,
    baseline: 'ws-fanout.mjs',
    title: `One run followed by ${ctx.sockets} WebSockets vs ws + pg + jose`,
  });

// The same with N SSE streams (GET /api/agent/{run_id}/stream) against node:http + pg + jose.
export const sseFanoutFigure = (ctx: BenchContext) =>
  fanoutFigure(ctx, {
    name: 'sse-fanout',
    channel: sseChannel,
    baseline: 'sse-fanout.mjs',
    title: `One run followed by ${ctx.sockets} SSE streams vs node:http + pg + jose`,
  });

// Both servers follow the same run in the same database. Per round and side: N clients subscribe,
// then this process commits the run's events at a steady rate (as the product's own writer would,
// see EventCommitter) and every client records when each arrives; the clients leave before the
// other side's turn. Server CPU per delivered frame (CPU time of the server process over the
// window from the first commit to the last frame, over the frames the clients received) and
// commit-to-frame latency.
async function fanoutFigure(ctx: BenchContext, spec: Spec): Promise<FigureResult> {
  requireOpenFiles(ctx.sockets);
  const database = await ctx.database(spec.name.replace('-', '_'));
  const product = await startProduct(ctx, database);
  let baseline: Server | undefined;
  let committer: EventCommitter | undefined;
  try {
    const runId = await createRun(database, RUN_OWNER);
    baseline = await startBaseline(ctx, spec.baseline, database);
    committer = await EventCommitter.connect(database, runId);
    const tokens = await signTokens(RUN_OWNER, spec.name, ctx.sockets);
    const servers = { product, baseline };
    const pass = (server: Server, seconds: number) =>
      measure(server, spec.channel, runId, committer!, tokens, seconds);
    // Warm both (JIT, pools) before anything counts.
    for (const server of [product, baseline]) await pass(server, ctx.warmupSeconds);
    const samples = { product: [] as Sample[], baseline: [] as Sample[] };
    for (const order of alternation(ctx.rounds)) {
      for (const side of order) samples[side].push(await pass(servers[side], ctx.seconds));
    }
    const ratios = (pick: (s: Sample) => number) =>
      summarise(samples.product.map((p, i) => pick(p) / pick(samples.baseline[i])));
    const both = (pick: (s: Sample) => number, unit: string, digits: number) => ({
      product: `${median(samples.product.map(pick)).toFixed(digits)} ${unit}`,
      baseline: `${median(samples.baseline.map(pick)).toFixed(digits)} ${unit}`,
      ratio: ratios(pick),
    });
    const clients = `${ctx.sockets} ${spec.channel.name} clients`;
    return {
      name: spec.name,
      title: spec.title,
      rows: [
        {
          figure: 'server CPU per delivered frame',
          ...both((s) => s.cpuPerFrameUs, 'us', 1),
          target: '<= 1.5x',
        },
        {
          figure: `commit-to-frame p99, ${clients}, ${EVENTS_PER_SECOND} events/s`,
          ...both((s) => s.p99Ms, 'ms', 2),
          target: '<= 1.3x',
        },
        {
          figure: 'commit-to-frame p50',
          ...both((s) => s.p50Ms, 'ms', 2),
          target: '-',
        },
      ],
      latencies: {
        product: samples.product.flatMap((s) => s.latencies),
        baseline: samples.baseline.flatMap((s) => s.latencies),
      },
      errors: [...samples.product, ...samples.baseline].reduce((n, s) => n + s.errors, 0),
      chart: { label: 'commit-to-frame latency (ms), every frame to every client' },
      errorsLabel: 'Frames missing, repeated or out of order, and clients that could not subscribe',
      round: `of ${ctx.seconds} s at ${EVENTS_PER_SECOND} events/s to ${clients}`,
      method:
        `Both servers follow one \`running\` run of the same database. In each round ${clients} ` +
        `subscribe to it (${CONNECT_WINDOW} connecting at once, each with a token of its own, ` +
        `after its current seq), then the load generator commits ${EVENTS_PER_SECOND} ` +
        `agent_response_chunk events a second into run_events, each in its own transaction with ` +
        `\`pg_notify('netra_run_events', '<run_id>:<seq>')\`, as the product's own writer does. ` +
        `Server CPU per delivered frame is the server's CPU time from the first commit until every ` +
        `client had the last event, over the frames the clients received; commit-to-frame latency ` +
        `runs from the moment COMMIT was sent to when a client read the frame, for every frame of ` +
        `every client (the generator reads them all on one core, so its own queueing is in both ` +
        `sides' figures).`,
    };
  } finally {
    await committer?.close();
    await product.stop();
    await baseline?.stop();
  }
}

async function measure(
  server: Server,
  channel: Channel,
  runId: string,
  committer: EventCommitter,
  tokens: string[],
  seconds: number,
): Promise<Sample> {
  const after = await committer.lastSeq();
  const deliveries = new Deliveries();
  let refused: unknown;
  let failed = 0;
  const opened = await windowed(tokens.length, CONNECT_WINDOW, (i) =>
    channel.open(server.port, tokens[i], runId, after, deliveries.sink(after)).catch((err) => {
      refused ??= err;
      failed += 1;
      return undefined;
    }),
  );
  const subscribers = opened.filter((s): s is Subscriber => s !== undefined);
  try {
    if (subscribers.length === 0)
      throw new Error(
        `no ${channel.name} client could subscribe to ${server.name}: ${String(refused)}`,
      );
    const before = cpuSeconds(server.pid);
    const last = await committer.commit(EVENTS_PER_SECOND, seconds, (seq, at) =>
      deliveries.committed(seq, at),
    );
    const expected = (last - after) * subscribers.length;
    await deliveries.delivered(expected, DRAIN_MS);
    const cpu = cpuSeconds(server.pid) - before;
    if (deliveries.frames === 0) throw new Error(`${server.name} delivered no frame`);
    return {
      cpuPerFrameUs: (cpu / deliveries.frames) * 1e6,
      p50Ms: quantile(deliveries.latencies, 0.5),
      p99Ms: quantile(deliveries.latencies, 0.99),
      latencies: deliveries.latencies,
      errors: failed + deliveries.problems + Math.max(0, expected - deliveries.frames),
    };
  } finally {
    await Promise.all(subscribers.map((s) => s.close()));
  }
}
