import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = join(__dirname, '..');

// The benchmark harness, run for a few seconds with tiny sizes so it cannot rot. Its figures are
// not checked here (timings are for docs/benchmarks.md, never assertions); its output is.
describe('npm run bench, smoke', () => {
  let out: string;
  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), 'netra-bench-'));
  });
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  // The runner as `npm run bench -- <figure> --smoke` runs it; its stdout.
  const bench = async (figure: string) => {
    const { stdout } = await run(
      join(ROOT, 'node_modules', '.bin', 'ts-node'),
      ['--transpile-only', 'bench/run.ts', figure, '--smoke', '--out', out],
      {
        cwd: ROOT,
        env: { ...process.env, BENCH_ADMIN_DATABASE_URL: process.env.TEST_ADMIN_DATABASE_URL },
        timeout: 180_000,
      },
    );
    return stdout;
  };
  const data = (figure: string) =>
    JSON.parse(readFileSync(join(out, `benchmarks-${figure}.json`), 'utf8'));
  const expectRows = (rows: any[], count: number) => {
    expect(rows).toHaveLength(count);
    for (const row of rows) {
      expect(row.ratio.median).toBeGreaterThan(0);
      expect(Number.isFinite(row.ratio.median)).toBe(true);
      expect(row.ratio.rounds).toBe(2);
    }
  };

  it('runs the status figure against its baselines and writes the report, data and chart', async () => {
    const stdout = await bench('status');
    expect(stdout).toMatch(/status: server CPU per request: \d+ us vs \d+ us = [\d.]+x/);
    expect(stdout).toMatch(
      /status: requests\/s, closed loop, 2 clients, vs jsonwebtoken: \d+ vs \d+/,
    );
    const report = readFileSync(join(out, 'benchmarks.md'), 'utf8');
    expect(report).toContain('| server CPU per request |');
    expect(report).toContain(`Node ${process.versions.node}`);
    const { result } = data('status');
    expectRows(result.rows, 4);
    expect(result.rows.map((r: any) => r.figure)).toEqual([
      'server CPU per request',
      'requests/s, closed loop, 2 clients, vs jsonwebtoken',
      'requests/s, closed loop, 2 clients, vs jose',
      expect.stringMatching(/^p99 at \d+ requests\/s/),
    ]);
    expect(result.errors).toBe(0);
    expect(existsSync(join(out, 'benchmarks-status.svg'))).toBe(true);
    expect(readFileSync(join(out, 'benchmarks-status.svg'), 'utf8')).toMatch(/^<svg/);
  });

  it('runs the scope figure: bare Nest per request and durable per user, and the product, vs singletons', async () => {
    const stdout = await bench('scope');
    expect(stdout).toMatch(
      /scope: bare Nest, request-scoped, built per request \(5 users\): \d+ us vs \d+ us = [\d.]+x/,
    );
    expect(stdout).toMatch(
      /scope: bare Nest, request-scoped, durable per user \(5 users\): \d+ us vs \d+ us = [\d.]+x/,
    );
    expect(stdout).toMatch(
      /scope: the product vs bare Nest on singletons \(5 users\): \d+ us vs \d+ us = [\d.]+x/,
    );
    const report = readFileSync(join(out, 'benchmarks.md'), 'utf8');
    expect(report).toContain('## Request scope: the status route vs the same route on singletons');
    expect(report).toContain('| figure | measured | baseline (singletons) |');
    const { result } = data('scope');
    expectRows(result.rows, 3);
    expect(result.errors).toBe(0);
    // CPU only: no fixed-rate part, so no chart.
    expect(existsSync(join(out, 'benchmarks-scope.svg'))).toBe(false);
  }, 120_000); // four servers, and a run per user

  // A figure's stdout and its JSON data.
  const smoke = async (figure: string) => ({ stdout: await bench(figure), data: data(figure) });

  it('runs the runs figure against its baseline, with the runs/s-against-clients chart', async () => {
    const { stdout, data } = await smoke('runs');
    expect(stdout).toMatch(/runs: runs\/s, closed loop, 2 clients: [\d.]+ vs [\d.]+ = [\d.]+x/);
    expect(stdout).toMatch(/runs: p50 start to agent_completed, 2 clients: [\d.]+ ms vs [\d.]+ ms/);
    expect(data.result.rows).toHaveLength(3);
    for (const row of data.result.rows) {
      expect(Number.isFinite(row.ratio.median)).toBe(true);
      expect(row.ratio.median).toBeGreaterThan(0);
      expect(row.ratio.rounds).toBe(2);
    }
    expect(data.result.errors).toBe(0);
    // 1, 2 and 4 clients (from one to twice the figure's), both sides measured at each.
    expect(data.result.scaling.points.map((p: any) => p.x)).toEqual([1, 2, 4]);
    for (const p of data.result.scaling.points) {
      expect(p.product).toBeGreaterThan(0);
      expect(p.baseline).toBeGreaterThan(0);
    }
    expect(readFileSync(join(out, 'benchmarks-runs-scaling.svg'), 'utf8')).toMatch(/^<svg/);
    expect(readFileSync(join(out, 'benchmarks.md'), 'utf8')).toContain(
      '![runs/s against clients](benchmarks-runs-scaling.svg)',
    );
  }, 180_000);

  it('counts the commits per run of both sides, with their sources', async () => {
    const { stdout, data } = await smoke('commits');
    expect(stdout).toMatch(/commits: commits per run \(pg_stat_database.*\): [\d.]+ vs [\d.]+ =/);
    const [commits, writing] = data.result.rows;
    expect(Number(commits.product)).toBeGreaterThan(0);
    expect(Number(commits.baseline)).toBeGreaterThan(0);
    expect(Number(writing.product)).toBeGreaterThan(0);
    expect(Number(writing.product)).toBeLessThanOrEqual(Number(commits.product));
    expect(commits.ratio.rounds).toBe(2);
    const report = readFileSync(join(out, 'benchmarks.md'), 'utf8');
    // The breakdown names the run's own writes, e.g. its events.
    expect(report).toContain('INSERT run_events');
    // No latencies, no latency chart.
    expect(existsSync(join(out, 'benchmarks-commits.svg'))).toBe(false);
  }, 180_000);

  it('measures the first chunk the backend adds to a streaming provider', async () => {
    const { stdout, data } = await smoke('ttft');
    expect(stdout).toMatch(/ttft: first chunk added, p50 .*: [\d.]+ ms vs - = [\d.]+x/);
    expect(data.result.rows).toHaveLength(2);
    for (const row of data.result.rows) {
      expect(Number.isFinite(row.ratio.median)).toBe(true);
      expect(row.ratio.rounds).toBe(2);
    }
    expect(data.result.errors).toBe(0);
    expect(readFileSync(join(out, 'benchmarks-ttft.svg'), 'utf8')).toMatch(/^<svg/);
  }, 180_000);

  it('streams answers at once on the product and both bare baselines, every run complete', async () => {
    const { stdout, data } = await smoke('stream');
    expect(stdout).toMatch(/stream: most runs streaming at once .*: \d+ vs \d+/);
    expect(data.result.errors).toBe(0);
    // One note per side, each with both smoke steps measured.
    expect(data.result.notes).toHaveLength(3);
    for (const note of data.result.notes)
      expect(note).toMatch(/2: 2\/2 complete.*4: 4\/4 complete/);
    const cpu = data.result.rows.filter((r: { figure: string }) => r.figure.includes('CPU'));
    expect(cpu.map((r: { figure: string }) => r.figure)).toEqual([
      '2 runs: server CPU per streamed event',
      '4 runs: server CPU per streamed event',
    ]);
  }, 180_000);

  it('churns WebSockets on both sides and reads the heap after each batch', async () => {
    const { stdout, data } = await smoke('churn');
    expect(stdout).toMatch(
      /churn: heap growth over the second 40 cycles: -?[\d.]+ MB vs -?[\d.]+ MB/,
    );
    expect(data.result.errors).toBe(0);
    expect(data.result.rows).toHaveLength(3);
    expect(data.result.notes[0]).toMatch(/product [\d.]+ MB \/ [\d.]+ MB \/ [\d.]+ MB/);
  }, 180_000);

  // The fan-out family at smoke sizes (20 clients, a few events): the rows, no lost or misordered
  // frame, no refused client, the chart. Their CPU ratios are not checked here: at these sizes a
  // server spends a tick or two of /proc's 10 ms resolution.
  const figure = async (name: string, chart = true) => {
    const stdout = await bench(name);
    const { result } = data(name);
    expect(result.errors).toBe(0);
    for (const row of result.rows) expect(row.ratio.rounds).toBe(2);
    expect(existsSync(join(out, `benchmarks-${name}.svg`))).toBe(chart);
    if (chart) expect(readFileSync(join(out, `benchmarks-${name}.svg`), 'utf8')).toMatch(/^<svg/);
    expect(readFileSync(join(out, 'benchmarks.md'), 'utf8')).toContain(`## ${result.title}`);
    return { stdout, rows: result.rows as { figure: string; product: string; ratio: any }[] };
  };

  it.each([
    ['ws-fanout', 'WebSocket'],
    ['sse-fanout', 'SSE'],
  ])(
    'runs the %s figure: CPU per frame and commit-to-frame latency',
    async (name, channel) => {
      const { stdout, rows } = await figure(name);
      expect(stdout).toMatch(
        new RegExp(`${name}: server CPU per delivered frame: [\\d.]+ us vs [\\d.]+ us = \\S+x`),
      );
      expect(stdout).toMatch(
        new RegExp(
          `${name}: commit-to-frame p99, 20 ${channel} clients, \\d+ events/s: [\\d.]+ ms vs [\\d.]+ ms = [\\d.]+x`,
        ),
      );
      expect(rows.map((r) => r.figure)).toEqual([
        'server CPU per delivered frame',
        `commit-to-frame p99, 20 ${channel} clients, 20 events/s`,
        'commit-to-frame p50',
      ]);
      expect(rows[0].product).toMatch(/^[\d.]+ us$/);
      for (const row of rows.slice(1)) {
        expect(Number.isFinite(row.ratio.median)).toBe(true);
        expect(row.ratio.median).toBeGreaterThan(0);
      }
    },
    120_000,
  );

  it('runs the subscribe figure: the time for every client to subscribe, on both channels', async () => {
    const { stdout, rows } = await figure('subscribe');
    expect(stdout).toMatch(
      /subscribe: 20 WebSockets connected, authenticated and subscribed: [\d.]+ s vs [\d.]+ s = [\d.]+x/,
    );
    expect(stdout).toMatch(/subscribe: 20 SSE streams open \(first bytes\): [\d.]+ s vs [\d.]+ s/);
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(Number.isFinite(row.ratio.median)).toBe(true);
  }, 120_000);

  it('runs the memory figure: heap and RSS per connection, read over the inspector', async () => {
    // Sizes, not a distribution: no chart.
    const { stdout, rows } = await figure('memory', false);
    expect(stdout).toMatch(
      /memory: heap per idle authenticated WebSocket: -?[\d.]+ kB vs -?[\d.]+ kB = \S+x/,
    );
    expect(rows.map((r) => r.figure)).toEqual([
      'heap per idle authenticated WebSocket',
      'heap per WebSocket subscribed to a run',
      'RSS per open SSE stream',
      'heap per open SSE stream',
    ]);
    for (const row of rows) expect(row.product).toMatch(/^-?[\d.]+ kB$/);
    // No latency in this figure: the chart says so instead of plotting nothing.
  }, 120_000);

  it('refuses a figure it does not know', async () => {
    await expect(
      run(
        join(ROOT, 'node_modules', '.bin', 'ts-node'),
        ['--transpile-only', 'bench/run.ts', 'nope', '--smoke'],
        {
          cwd: ROOT,
          env: { ...process.env, BENCH_ADMIN_DATABASE_URL: process.env.TEST_ADMIN_DATABASE_URL },
        },
      ),
    ).rejects.toMatchObject({ stderr: expect.stringContaining('unknown figure nope') });
  });
});
