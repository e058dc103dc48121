// npm run bench [-- <figure> ...] [-- --rounds N --seconds S --clients C --sockets K --users U --smoke --out DIR]
// Every figure against its baseline in the same run; results into docs/benchmarks.md and charts
// beside it (see docs/benchmarks.md for what each figure measures).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Client } from 'pg';
import { BenchContext, FigureResult } from './figures/figure';
import { churnFigure } from './figures/churn';
import { commitsFigure } from './figures/commits';
import { sseFanoutFigure, wsFanoutFigure } from './figures/fanout';
import { memoryFigure } from './figures/memory';
import { runsFigure } from './figures/runs';
import { scopeFigure } from './figures/scope';
import { statusFigure } from './figures/status';
import { streamFigure } from './figures/stream';
import { subscribeFigure } from './figures/subscribe';
import { ttftFigure } from './figures/ttft';
import { hasLatencyChart, latencyChart, RunInfo, scalingChart, section } from './lib/report';

const FIGURES: Record<string, (ctx: BenchContext) => Promise<FigureResult>> = {
  status: statusFigure,
  scope: scopeFigure,
  runs: runsFigure,
  commits: commitsFigure,
  ttft: ttftFigure,
  'ws-fanout': wsFanoutFigure,
  'sse-fanout': sseFanoutFigure,
  subscribe: subscribeFigure,
  memory: memoryFigure,
  stream: streamFigure,
  churn: churnFigure,
};

// The load generator (this process) on core 1, the servers on core 0.
const GENERATOR_CORE = '1';

interface Options {
  figures: string[];
  rounds: number;
  seconds: number;
  clients: number;
  sockets: number;
  users: number;
  smoke: boolean;
  out: string;
  adminUrl: string;
}

export function parseOptions(argv: string[]): Options {
  const flag = (name: string, fallback: string) => {
    const at = argv.indexOf(`--${name}`);
    return at >= 0 ? argv[at + 1] : fallback;
  };
  const smoke = argv.includes('--smoke');
  const named = argv.filter((a, i) => !a.startsWith('--') && !argv[i - 1]?.startsWith('--'));
  const unknown = named.filter((n) => !FIGURES[n]);
  if (unknown.length)
    throw new Error(
      `unknown figure ${unknown.join(', ')}; known: ${Object.keys(FIGURES).join(', ')}`,
    );
  return {
    figures: named.length ? named : Object.keys(FIGURES),
    rounds: Number(flag('rounds', smoke ? '2' : '6')),
    seconds: Number(flag('seconds', smoke ? '0.5' : '5')),
    clients: Number(flag('clients', smoke ? '2' : '16')),
    sockets: Number(flag('sockets', smoke ? '20' : '2000')),
    users: Number(flag('users', smoke ? '5' : '1000')),
    smoke,
    out: flag('out', join(__dirname, '..', 'docs')),
    adminUrl:
      process.env.BENCH_ADMIN_DATABASE_URL ??
      process.env.DATABASE_URL ??
      'postgres://postgres@127.0.0.1:5432/postgres',
  };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const databases: string[] = [];
  const admin = new Client({ connectionString: options.adminUrl });
  await admin.connect();
  const ctx: BenchContext = {
    rounds: options.rounds,
    seconds: options.seconds,
    warmupSeconds: options.smoke ? 0.3 : 3,
    clients: options.clients,
    adminUrl: options.adminUrl,
    sockets: options.sockets,
    users: options.users,
    database: async (name) => {
      const db = `netra_bench_${name}_${process.pid}`;
      await admin.query(`DROP DATABASE IF EXISTS ${db}`);
      await admin.query(`CREATE DATABASE ${db}`);
      databases.push(db);
      const url = new URL(options.adminUrl);
      url.pathname = `/${db}`;
      return url.toString();
    },
    port: freePort,
  };
  const run: RunInfo = {
    date: new Date().toISOString().slice(0, 10),
    node: process.versions.node,
    machine: `${cpus().length} x ${cpus()[0]?.model.trim() ?? 'cpu'}, servers pinned to core 0, load generator to core ${GENERATOR_CORE}`,
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    rounds: options.rounds,
    seconds: options.seconds,
  };
  mkdirSync(options.out, { recursive: true });
  const sections: string[] = [];
  try {
    for (const name of options.figures) {
      const result = await FIGURES[name](ctx);
      const chart = hasLatencyChart(result) ? `benchmarks-${name}.svg` : undefined;
      if (chart) writeFileSync(join(options.out, chart), latencyChart(result));
      const scaling = result.scaling ? `benchmarks-${name}-scaling.svg` : undefined;
      if (scaling) writeFileSync(join(options.out, scaling), scalingChart(result));
      writeFileSync(
        join(options.out, `benchmarks-${name}.json`),
        `${JSON.stringify({ run, result: { ...result, latencies: undefined } }, null, 2)}\n`,
      );
      sections.push(section(result, run, chart, scaling));
      for (const row of result.rows) {
        console.log(
          `${name}: ${row.figure}: ${row.product} vs ${row.baseline} = ${row.ratio.median.toFixed(2)}x (target ${row.target})`,
        );
      }
    }
  } finally {
    for (const db of databases) await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await admin.end();
  }
  writeReport(options.out, sections);
}

// docs/benchmarks.md keeps its hand-written head (what limits each figure, the profiles) above
// the generated part, which is replaced.
const MARK = '<!-- generated by npm run bench: everything below -->';
function writeReport(dir: string, sections: string[]): void {
  const file = join(dir, 'benchmarks.md');
  let head = '# Benchmarks\n';
  try {
    head = readFileSync(file, 'utf8').split(MARK)[0];
  } catch {
    // first run
  }
  writeFileSync(file, `${head.trimEnd()}\n\n${MARK}\n\n${sections.join('\n')}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

// Re-run pinned to the generator's core, once.
if (require.main === module) {
  if (!process.env.BENCH_PINNED && spawnSync('taskset', ['--version']).status === 0) {
    const result = spawnSync(
      'taskset',
      ['-c', GENERATOR_CORE, process.execPath, ...process.execArgv, ...process.argv.slice(1)],
      {
        stdio: 'inherit',
        env: { ...process.env, BENCH_PINNED: '1' },
      },
    );
    process.exit(result.status ?? 1);
  }
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.stack : String(err));
    process.exit(1);
  });
}
