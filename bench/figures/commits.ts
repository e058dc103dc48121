import { Agent } from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { perRunSources, SourceCount, writes } from '../lib/commit-sources';
import { databaseOf, PgStats } from '../lib/pg-stats';
import { PgWireTap, startPgWireTap, TappedTransaction } from '../lib/pg-wire-tap';
import { clientTokens, migratedDatabase, productEnv, ROOT, startProduct } from '../lib/product';
import { runOnce } from '../lib/runs-client';
import { startServer, Server } from '../lib/server';
import { alternation, median, summarise } from '../lib/stats';
import { BenchContext, FigureResult } from './figure';

type Side = 'product' | 'baseline';

// One server's life from start to stop: the database's commits over it (pg_stat_database), the
// transactions its connections ended (the wire tap), and how long it worked after it was ready.
interface Lifetime {
  commits: number;
  transactions: TappedTransaction[];
  tap: PgWireTap;
  readyAt: number;
  seconds: number;
}

interface Sample {
  perRun: number;
  writesPerRun: number;
  tapPerRun: number;
  // What xact_commit counts that no client sent: NOTIFYs sent and delivered, connections opened.
  notifiesPerRun: number;
  deliveredPerRun: number;
  connectionsPerRun: number;
  busy: Lifetime;
  idle: Lifetime;
}

// Commits per run of "What is 17 * 23?" (REST start, SSE follow to agent_completed), runs one
// after another, from pg_stat_database's xact_commit of the side's own database.
//
// xact_commit is exact only when no backend of the database is connected (backends report
// lazily, but always on exit), so each count is over a whole server lifetime: read before the
// server starts, read after it stopped and its backends are gone. A busy lifetime makes K runs;
// an idle lifetime of the same server on the same database, started the same way, makes none for
// as long as the busy one worked. Their difference over K is the commits per run: the start-up
// (pg-boss, the sweeper) and the background (pg-boss's fetch loops and upkeep, the event
// listener's heartbeat) are in both and cancel. The product's migrations ran before, outside
// either. The product's connections go through a wire tap (bench/lib/pg-wire-tap.ts) that
// records each transaction's statements: the breakdown by source, and a check of the count.
export async function commitsFigure(ctx: BenchContext): Promise<FigureResult> {
  const stats = await PgStats.connect(ctx.adminUrl);
  try {
    const databases = {
      product: await migratedDatabase(ctx, 'commits'),
      baseline: await migratedDatabase(ctx, 'commits_baseline'),
    };
    const [token] = await clientTokens(1);
    const runs = Math.max(3, Math.round(ctx.seconds * 10));
    const start = {
      product: (url: string) => startProduct(ctx, url),
      baseline: async (url: string) =>
        startServer(
          'baseline',
          await ctx.port(),
          [join(ROOT, 'bench/baselines/runs-pg.mjs')],
          productEnv(url),
        ),
    };
    const samples = { product: [] as Sample[], baseline: [] as Sample[] };
    for (const order of alternation(ctx.rounds)) {
      for (const side of order) {
        const life = (work: (server: Server) => Promise<void>) =>
          lifetime(stats, databases[side], start[side], work);
        const busy = await life(async (server) => {
          const agent = new Agent({ keepAlive: true, maxSockets: 1 });
          for (let i = 0; i < runs; i++) await runOnce(agent, server.port, token);
          agent.destroy();
        });
        // The idle window is what is measured here, as long as the busy one worked.
        const idle = await life(() => delay(busy.seconds * 1000));
        const committed = (l: Lifetime) => l.transactions.filter((t) => t.committed);
        const writing = (l: Lifetime) => committed(l).filter(writes).length;
        const notifies = (l: Lifetime) =>
          committed(l).reduce((n, t) => n + t.statements.filter(isNotify).length, 0);
        samples[side].push({
          perRun: (busy.commits - idle.commits) / runs,
          writesPerRun: (writing(busy) - writing(idle)) / runs,
          tapPerRun: (committed(busy).length - committed(idle).length) / runs,
          notifiesPerRun: (notifies(busy) - notifies(idle)) / runs,
          deliveredPerRun: (busy.tap.notifications.length - idle.tap.notifications.length) / runs,
          connectionsPerRun: (busy.tap.connections.length - idle.tap.connections.length) / runs,
          busy,
          idle,
        });
      }
    }
    const pick = (side: Side, f: (s: Sample) => number) => median(samples[side].map(f));
    const ratios = (f: (s: Sample) => number) =>
      summarise(samples.product.map((p, i) => f(p) / f(samples.baseline[i])));
    return {
      name: 'commits',
      title: 'Commits per run of "What is 17 * 23?" vs bare pg',
      rows: [
        {
          figure: `commits per run (pg_stat_database, ${runs} runs a round, idle subtracted)`,
          product: pick('product', (s) => s.perRun).toFixed(1),
          baseline: pick('baseline', (s) => s.perRun).toFixed(1),
          ratio: ratios((s) => s.perRun),
          target: '<= 6',
        },
        {
          figure: 'of which write (wire tap: rows written, NOTIFY)',
          product: pick('product', (s) => s.writesPerRun).toFixed(1),
          baseline: pick('baseline', (s) => s.writesPerRun).toFixed(1),
          ratio: ratios((s) => s.writesPerRun),
          target: '-',
        },
      ],
      latencies: { product: [], baseline: [] },
      errors: 0,
      notes: notes(samples, runs),
    };
  } finally {
    await stats.close();
  }
}

async function lifetime(
  stats: PgStats,
  database: string,
  start: (url: string) => Promise<Server>,
  work: (server: Server) => Promise<void>,
): Promise<Lifetime> {
  const upstream = new URL(database);
  const tap = await startPgWireTap({
    host: upstream.hostname,
    port: Number(upstream.port || 5432),
  });
  const name = databaseOf(database);
  const before = await stats.settledCommits(name);
  const viaTap = new URL(database);
  viaTap.hostname = '127.0.0.1';
  viaTap.port = String(tap.port);
  let server: Server | undefined;
  try {
    server = await start(viaTap.toString());
    const readyAt = performance.now();
    await work(server);
    const seconds = (performance.now() - readyAt) / 1000;
    await server.stop();
    server = undefined;
    const commits = (await stats.settledCommits(name)) - before;
    return { commits, transactions: tap.transactions, tap, readyAt, seconds };
  } finally {
    await server?.stop();
    await tap.close();
  }
}

function isNotify(sql: string): boolean {
  return /\bpg_notify\s*\(|^NOTIFY\b/i.test(sql);
}

function notes(samples: Record<Side, Sample[]>, runs: number): string[] {
  const total = (side: Side, f: (s: Sample) => TappedTransaction[]) => samples[side].flatMap(f);
  const sources = (side: Side) =>
    perRunSources(
      total(side, (s) => s.busy.transactions),
      total(side, (s) => s.idle.transactions),
      runs * samples[side].length,
    );
  const table = (list: SourceCount[]) => [
    '| per run | transaction (connection: what it did, in order) |',
    '| --- | --- |',
    ...list.map((s) => `| ${s.perRun.toFixed(2)} | ${s.source.replace(/\|/g, '\\|')} |`),
  ];
  // The product's background while idle: its commits after it was ready, per second.
  const background = samples.product.map((s) => {
    const after = s.idle.transactions.filter((t) => t.committed && t.at >= s.idle.readyAt);
    return after.length / s.idle.seconds;
  });
  const mid = (side: Side, f: (s: Sample) => number) => median(samples[side].map(f)).toFixed(1);
  const listeners = [
    ...new Set(
      samples.product.flatMap((s) =>
        s.busy.transactions
          .filter((t) => /^LISTEN\b/i.test(t.statements[0] ?? ''))
          .map((t) => t.app),
      ),
    ),
  ];
  return [
    'Each count is over a whole server lifetime (xact_commit read before the start and after the ' +
      "stop, once the database's backends are gone: they report their counts lazily but always " +
      'on exit). A busy lifetime makes the runs one after another, each a REST start and an SSE ' +
      'follow to agent_completed; an idle lifetime of the same server, started the same way, ' +
      'makes none for as long. Commits per run = (busy - idle) / runs: start-up and background ' +
      'cancel. Every commit counts, read-only ones too (that is what xact_commit counts).',
    '',
    `The wire tap saw ${mid('product', (s) => s.tapPerRun)} commits per run for the product and ` +
      `${mid('baseline', (s) => s.tapPerRun)} for the baseline (same method). The rest of ` +
      'xact_commit is transactions no client sent: PostgreSQL reads the notification queue for ' +
      'each listening connection in a transaction of its own whenever a NOTIFY is committed in ' +
      `the database (the product sends ${mid('product', (s) => s.notifiesPerRun)} NOTIFYs a run; ` +
      `${listeners.length} connections listen: ${listeners.join(', ')}; they received ` +
      `${mid('product', (s) => s.deliveredPerRun)} notifications a run), and each new ` +
      `connection's start (${mid('product', (s) => s.connectionsPerRun)} a run). The product's ` +
      `background while idle: ${median(background).toFixed(1)} commits/s on the wire; the busy ` +
      "lifetimes have fewer of its polls than the idle ones (pg-boss's fetch loops, woken by " +
      'each job, restart their 1 s wait), so subtracting the idle count slightly undercounts ' +
      'the fetches a run causes.',
    '',
    "The product's commits per run by source (busy less idle, over every round):",
    '',
    ...table(sources('product')),
    '',
    "The baseline's:",
    '',
    ...table(sources('baseline')),
  ];
}
