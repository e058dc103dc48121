import { Deliveries } from '../lib/deliveries';
import { Inspector } from '../lib/inspector';
import { memoryOf } from '../lib/memory';
import { requireOpenFiles } from '../lib/open-files';
import { createRun } from '../lib/run-fixture';
import { Server } from '../lib/server';
import { sseChannel } from '../lib/sse-subscriber';
import { alternation, median, summarise } from '../lib/stats';
import { Subscriber } from '../lib/subscriber';
import { signTokens } from '../lib/tokens';
import { windowed } from '../lib/windowed';
import { closeSocket, openSocket, roundTrip, wsChannel } from '../lib/ws-subscriber';
import { CONNECT_WINDOW } from './fanout';
import { RUN_OWNER, startBaseline, startProduct } from './fanout-servers';
import { BenchContext, FigureResult } from './figure';

// Connections opened and closed on a fresh server before it is measured, so what is made once
// (code compiled, pools and caches created) is not counted per connection.
const WARM_UP = 20;

// Bytes per connection of each kind, on one side in one round.
interface Sample {
  idleWsHeap: number;
  subscribedWsHeap: number;
  sseHeap: number;
  sseRss: number;
  errors: number;
}

interface Measured {
  server: Server;
  inspector: Inspector;
}

// Memory per connection: the server's heap after full collections (read over its inspector, so
// the product needs no route for it) and its RSS (/proc), before and after N connections of a
// kind, over N. Fresh servers every round (RSS does not come back when connections close).
export async function memoryFigure(ctx: BenchContext): Promise<FigureResult> {
  requireOpenFiles(ctx.sockets);
  const database = await ctx.database('memory');
  // A first product migrates the database for the run; each round then starts its own servers.
  const migrating = await startProduct(ctx, database);
  const runId = await createRun(database, RUN_OWNER).finally(() => migrating.stop());
  let tokens = 0;
  const fresh = (sub: string | ((i: number) => string)) =>
    signTokens(sub, `memory-${tokens++}`, ctx.sockets);
  const samples = { product: [] as Sample[], baseline: [] as Sample[] };
  for (const order of alternation(ctx.rounds)) {
    for (const side of order) {
      const started: Measured[] = [];
      const start = async (spawn: (args: string[]) => Promise<Server>) => {
        const inspectPort = await ctx.port();
        const server = await spawn([`--inspect=127.0.0.1:${inspectPort}`]);
        const measured = { server, inspector: await Inspector.connect(inspectPort) };
        started.push(measured);
        return measured;
      };
      try {
        const ws = await start((args) =>
          side === 'product'
            ? startProduct(ctx, database, args)
            : startBaseline(ctx, 'ws-fanout.mjs', database, args),
        );
        const sse =
          side === 'product'
            ? ws
            : await start((args) => startBaseline(ctx, 'sse-fanout.mjs', database, args));
        samples[side].push(await measureSide(ws, sse, runId, fresh));
      } finally {
        for (const { server, inspector } of started) {
          await inspector.close();
          await server.stop();
        }
      }
    }
  }
  const ratios = (pick: (s: Sample) => number) =>
    summarise(samples.product.map((p, i) => pick(p) / pick(samples.baseline[i])));
  const kB = (pick: (s: Sample) => number) => ({
    product: `${(median(samples.product.map(pick)) / 1024).toFixed(1)} kB`,
    baseline: `${(median(samples.baseline.map(pick)) / 1024).toFixed(1)} kB`,
    ratio: ratios(pick),
  });
  return {
    name: 'memory',
    title: `Memory per connection, ${ctx.sockets} connections, vs ws / node:http + pg + jose`,
    rows: [
      {
        figure: 'heap per idle authenticated WebSocket',
        ...kB((s) => s.idleWsHeap),
        target: '<= 2x',
      },
      {
        figure: 'heap per WebSocket subscribed to a run',
        ...kB((s) => s.subscribedWsHeap),
        target: '<= 12 kB (product)',
      },
      { figure: 'RSS per open SSE stream', ...kB((s) => s.sseRss), target: '<= 1.5x' },
      { figure: 'heap per open SSE stream', ...kB((s) => s.sseHeap), target: '-' },
    ],
    latencies: { product: [], baseline: [] },
    errors: [...samples.product, ...samples.baseline].reduce((n, s) => n + s.errors, 0),
    chart: { label: 'no latency is measured' },
    errorsLabel: 'Connections that could not be opened or subscribed, or got anything but an event',
    round: `of fresh servers per side, ${ctx.sockets} connections of each kind opened and closed`,
    method:
      `Each round starts fresh servers with \`--inspect=127.0.0.1:<port>\` (the product serves ` +
      `both channels; the baselines are bench/baselines/ws-fanout.mjs and sse-fanout.mjs), opens ` +
      `and closes ${WARM_UP} connections of each kind, then per kind reads the heap ` +
      `(\`HeapProfiler.collectGarbage\` twice, then \`process.memoryUsage().heapUsed\`, over the ` +
      `inspector protocol) and VmRSS (/proc/<pid>/status), opens ${ctx.sockets} connections, reads ` +
      `them again, and closes them: per connection = (after - before) / ${ctx.sockets}. Kinds, in ` +
      `order: SSE streams of the run (RSS first, on a fresh process), idle WebSockets (one user ` +
      `each, checked by a ping round trip), WebSockets of the run's owner subscribed to the run ` +
      `(each after its ack). Every connection has a token of its own, which the product caches.`,
  };
}

// The three kinds on one side: `ws` serves the WebSockets, `sse` the streams (one product process
// for both).
async function measureSide(
  ws: Measured,
  sse: Measured,
  runId: string,
  fresh: (sub: string | ((i: number) => string)) => Promise<string[]>,
): Promise<Sample> {
  const deliveries = new Deliveries();
  let failed = 0;
  const kept = <T>(open: Promise<T>) =>
    open.catch(() => {
      failed += 1;
      return undefined;
    });
  const idle = (port: number) => async (token: string) => {
    const socket = await openSocket(port, token);
    await roundTrip(socket);
    return { close: () => closeSocket(socket) };
  };
  const stream = (port: number) => (token: string) =>
    sseChannel.open(port, token, runId, 0, deliveries.sink(0));
  const subscribed = (port: number) => (token: string) =>
    wsChannel.open(port, token, runId, 0, deliveries.sink(0));
  // Warm-up: a few of each kind opened and closed.
  const warmTokens = await signTokens(RUN_OWNER, 'warm', WARM_UP);
  for (const [measured, open] of [
    [sse, stream],
    [ws, idle],
    [ws, subscribed],
  ] as const) {
    const opened = await windowed(WARM_UP, CONNECT_WINDOW, (i) =>
      kept(open(measured.server.port)(warmTokens[i])),
    );
    await closeAll(opened);
  }

  const perConnection = async (
    measured: Measured,
    tokens: string[],
    open: (token: string) => Promise<Subscriber>,
  ) => {
    const before = await memoryOf(measured.server.pid, measured.inspector);
    const opened = await windowed(tokens.length, CONNECT_WINDOW, (i) => kept(open(tokens[i])));
    const after = await memoryOf(measured.server.pid, measured.inspector);
    const held = await closeAll(opened);
    if (held === 0) throw new Error(`no connection could be opened to ${measured.server.name}`);
    return {
      heap: (after.heapUsed - before.heapUsed) / held,
      rss: (after.rss - before.rss) / held,
    };
  };
  const streams = await perConnection(sse, await fresh(RUN_OWNER), stream(sse.server.port));
  const idleUsers = await fresh((i) => `bench-idle-${i}`);
  const idleSockets = await perConnection(ws, idleUsers, idle(ws.server.port));
  const following = await perConnection(ws, await fresh(RUN_OWNER), subscribed(ws.server.port));
  return {
    idleWsHeap: idleSockets.heap,
    subscribedWsHeap: following.heap,
    sseHeap: streams.heap,
    sseRss: streams.rss,
    errors: failed + deliveries.problems,
  };
}

// Closes what was opened; how many that was.
async function closeAll(opened: (Subscriber | undefined)[]): Promise<number> {
  const held = opened.filter((s): s is Subscriber => s !== undefined);
  await Promise.all(held.map((s) => s.close()));
  return held.length;
}
