import { performance } from 'node:perf_hooks';
import { Deliveries } from '../lib/deliveries';
import { requireOpenFiles } from '../lib/open-files';
import { createRun } from '../lib/run-fixture';
import { Server } from '../lib/server';
import { sseChannel } from '../lib/sse-subscriber';
import { alternation, median, summarise } from '../lib/stats';
import { Channel, Subscriber } from '../lib/subscriber';
import { signTokens } from '../lib/tokens';
import { windowed } from '../lib/windowed';
import { wsChannel } from '../lib/ws-subscriber';
import { CONNECT_WINDOW } from './fanout';
import { RUN_OWNER, startBaseline, startProduct } from './fanout-servers';
import { BenchContext, FigureResult } from './figure';

interface Storm {
  seconds: number;
  // Milliseconds from a client's connect to its being subscribed.
  times: number[];
  errors: number;
}

// A subscribe storm: N clients subscribe to one run at once (CONNECT_WINDOW connecting at a time),
// over each channel, product against the fan-out baselines: the time until the last is subscribed
// (WebSocket: connected, authenticated and its `subscribe` acked; SSE: the stream's first bytes).
export async function subscribeFigure(ctx: BenchContext): Promise<FigureResult> {
  requireOpenFiles(ctx.sockets);
  const database = await ctx.database('subscribe');
  const product = await startProduct(ctx, database);
  const baselines: Server[] = [];
  try {
    const runId = await createRun(database, RUN_OWNER);
    baselines.push(await startBaseline(ctx, 'ws-fanout.mjs', database));
    baselines.push(await startBaseline(ctx, 'sse-fanout.mjs', database));
    const channels = [
      { channel: wsChannel, servers: { product, baseline: baselines[0] } },
      { channel: sseChannel, servers: { product, baseline: baselines[1] } },
    ];
    // Fresh tokens for every storm: the product caches verified tokens, and clients arriving
    // together after a restart or a deploy are not in any cache.
    let stormed = 0;
    const run = async (server: Server, channel: Channel) =>
      storm(server, channel, runId, await signTokens(RUN_OWNER, `storm-${stormed++}`, ctx.sockets));
    // One storm each before anything counts (JIT, pools).
    for (const { channel, servers } of channels) {
      for (const server of [servers.product, servers.baseline]) await run(server, channel);
    }
    const results = channels.map(() => ({ product: [] as Storm[], baseline: [] as Storm[] }));
    for (const order of alternation(ctx.rounds)) {
      for (const [i, { channel, servers }] of channels.entries()) {
        for (const side of order) results[i][side].push(await run(servers[side], channel));
      }
    }
    const seconds = (of: Storm[]) => `${median(of.map((s) => s.seconds)).toFixed(2)} s`;
    const all = (side: 'product' | 'baseline') =>
      results.flatMap((r) => r[side].flatMap((s) => s.times));
    return {
      name: 'subscribe',
      title: `${ctx.sockets} clients subscribing to one run at once vs the bare fan-out servers`,
      rows: channels.map(({ channel }, i) => ({
        figure:
          channel === wsChannel
            ? `${ctx.sockets} WebSockets connected, authenticated and subscribed`
            : `${ctx.sockets} SSE streams open (first bytes)`,
        product: seconds(results[i].product),
        baseline: seconds(results[i].baseline),
        ratio: summarise(
          results[i].product.map((p, round) => p.seconds / results[i].baseline[round].seconds),
        ),
        target: '<= 1 s (product)',
      })),
      latencies: { product: all('product'), baseline: all('baseline') },
      errors: results.reduce(
        (n, r) => n + [...r.product, ...r.baseline].reduce((m, s) => m + s.errors, 0),
        0,
      ),
      chart: {
        label: `connect to subscribed per client (ms), ${CONNECT_WINDOW} at a time`,
        series: channels.flatMap(({ channel }, i) => [
          { name: `product ${channel.name}`, values: results[i].product.flatMap((s) => s.times) },
          { name: `baseline ${channel.name}`, values: results[i].baseline.flatMap((s) => s.times) },
        ]),
      },
      errorsLabel: 'Clients that could not subscribe, or got anything but an event',
      round: `of one storm per side and channel (${ctx.sockets} clients, then all closed)`,
      method:
        `Each storm opens ${ctx.sockets} connections of the run's owner, each with a token of its ` +
        `own never seen before by either server, ${CONNECT_WINDOW} connecting at a time (a new one ` +
        `as soon as one is subscribed), and takes the time from the first connect until the last ` +
        `client is subscribed. The servers' listen backlog (511) is why connects are windowed: ` +
        `SYNs past it are dropped and retried a whole second later.`,
    };
  } finally {
    await product.stop();
    for (const baseline of baselines) await baseline.stop();
  }
}

async function storm(
  server: Server,
  channel: Channel,
  runId: string,
  tokens: string[],
): Promise<Storm> {
  const deliveries = new Deliveries();
  const times: number[] = [];
  let failed = 0;
  let refused: unknown;
  const started = performance.now();
  const opened = await windowed(tokens.length, CONNECT_WINDOW, async (i) => {
    const t0 = performance.now();
    try {
      const subscriber = await channel.open(server.port, tokens[i], runId, 0, deliveries.sink(0));
      times.push(performance.now() - t0);
      return subscriber;
    } catch (err) {
      refused ??= err;
      failed += 1;
      return undefined;
    }
  });
  const seconds = (performance.now() - started) / 1000;
  const subscribers = opened.filter((s): s is Subscriber => s !== undefined);
  await Promise.all(subscribers.map((s) => s.close()));
  if (subscribers.length === 0)
    throw new Error(
      `no ${channel.name} client could subscribe to ${server.name}: ${String(refused)}`,
    );
  return { seconds, times, errors: failed + deliveries.problems };
}
