import { Inspector } from '../lib/inspector';
import { Memory, memoryOf } from '../lib/memory';
import { createRun } from '../lib/run-fixture';
import { Server } from '../lib/server';
import { summarise } from '../lib/stats';
import { signTokens } from '../lib/tokens';
import { windowed } from '../lib/windowed';
import { wsChannel } from '../lib/ws-subscriber';
import { RUN_OWNER, startBaseline, startProduct } from './fanout-servers';
import { BenchContext, FigureResult } from './figure';

// Connections in flight at once, as issue 16's measurement from outside made them.
const WIDTH = 20;
const WARM_UP = 200;

interface Side {
  // After the warm-up, after the first batch, after the second (heap after full collections).
  start: Memory;
  first: Memory;
  second: Memory;
  problems: number;
}

// WebSocket churn: N connect / subscribe / close cycles (WIDTH at a time) against a fresh server,
// then N more, reading the heap after full collections (over the inspector) and the RSS after
// each batch. What a connection leaves behind once closed shows as heap growth over the second
// batch: the first also grows what is made once under load (pools, caches, the JIT's code).
export async function churnFigure(ctx: BenchContext): Promise<FigureResult> {
  const cycles = ctx.sockets < 100 ? 40 : 5_000;
  const database = await ctx.database('churn');
  const migrating = await startProduct(ctx, database);
  const runId = await createRun(database, RUN_OWNER).finally(() => migrating.stop());
  const sides: Record<'product' | 'baseline', Side> = {
    product: await measure(ctx, 'product', database, runId, cycles),
    baseline: await measure(ctx, 'baseline', database, runId, cycles),
  };
  const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
  const growth = (s: Side, pick: (m: Memory) => number) => pick(s.second) - pick(s.first);
  const heap = (m: Memory) => m.heapUsed;
  const rss = (m: Memory) => m.rss;
  return {
    name: 'churn',
    title: `WebSocket churn: ${cycles} connect / subscribe / close cycles, then ${cycles} more`,
    rows: [
      {
        figure: `heap growth over the second ${cycles} cycles`,
        product: mb(growth(sides.product, heap)),
        baseline: mb(growth(sides.baseline, heap)),
        ratio: summarise([growth(sides.product, heap) / sides.product.first.heapUsed]),
        target: 'none beyond noise (ratio: growth / heap after the first batch)',
      },
      {
        figure: `heap growth over the first ${cycles} cycles`,
        product: mb(sides.product.first.heapUsed - sides.product.start.heapUsed),
        baseline: mb(sides.baseline.first.heapUsed - sides.baseline.start.heapUsed),
        ratio: summarise([
          (sides.product.first.heapUsed - sides.product.start.heapUsed) /
            sides.product.start.heapUsed,
        ]),
        target: '-',
      },
      {
        figure: 'RSS after the warm-up / the first batch / the second',
        product: [sides.product.start, sides.product.first, sides.product.second]
          .map((m) => mb(rss(m)))
          .join(' / '),
        baseline: [sides.baseline.start, sides.baseline.first, sides.baseline.second]
          .map((m) => mb(rss(m)))
          .join(' / '),
        ratio: summarise([growth(sides.product, rss) / Math.max(1, sides.product.first.rss)]),
        target: '-',
      },
    ],
    errors: sides.product.problems + sides.baseline.problems,
    errorsLabel: 'cycles that failed',
    round: `one fresh server per side, ${WARM_UP} warm-up cycles, then two batches of ${cycles}`,
    method:
      `Each cycle opens an authenticated WebSocket, subscribes to a run and closes it, ${WIDTH} ` +
      'at a time; the heap is read after full collections over the server\u2019s inspector, the ' +
      'RSS from /proc. The baseline is the bare `ws` fan-out server of the ws-fanout figure.',
    notes: [
      `Heap after the warm-up / the first batch / the second: product ` +
        `${[sides.product.start, sides.product.first, sides.product.second].map((m) => mb(heap(m))).join(' / ')}, ` +
        `baseline ${[sides.baseline.start, sides.baseline.first, sides.baseline.second].map((m) => mb(heap(m))).join(' / ')}.`,
    ],
  };
}

async function measure(
  ctx: BenchContext,
  side: 'product' | 'baseline',
  database: string,
  runId: string,
  cycles: number,
): Promise<Side> {
  const inspectPort = await ctx.port();
  const args = [`--inspect=127.0.0.1:${inspectPort}`];
  const server: Server =
    side === 'product'
      ? await startProduct(ctx, database, args)
      : await startBaseline(ctx, 'ws-fanout.mjs', database, args);
  const inspector = await Inspector.connect(inspectPort);
  let problems = 0;
  try {
    const tokens = await signTokens(RUN_OWNER, `churn-${side}`, Math.max(WARM_UP, cycles));
    const batch = (count: number) =>
      windowed(count, WIDTH, async (i) => {
        try {
          const sink = { frame: () => undefined, problem: () => undefined };
          const subscriber = await wsChannel.open(server.port, tokens[i], runId, 0, sink);
          await subscriber.close();
        } catch {
          problems += 1;
        }
      });
    await batch(WARM_UP);
    const start = await memoryOf(server.pid, inspector);
    await batch(cycles);
    const first = await memoryOf(server.pid, inspector);
    await batch(cycles);
    const second = await memoryOf(server.pid, inspector);
    return { start, first, second, problems };
  } finally {
    await inspector.close();
    await server.stop();
  }
}
