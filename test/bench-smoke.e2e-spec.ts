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
        timeout: 120_000,
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

  it('runs the scope figure: bare Nest request-scoped and the product, each vs bare Nest on singletons', async () => {
    const stdout = await bench('scope');
    expect(stdout).toMatch(
      /scope: server CPU per request, bare Nest request-scoped \(the mechanism\): \d+ us vs \d+ us = [\d.]+x/,
    );
    expect(stdout).toMatch(
      /scope: server CPU per request, the product: \d+ us vs \d+ us = [\d.]+x/,
    );
    const report = readFileSync(join(out, 'benchmarks.md'), 'utf8');
    expect(report).toContain('## Request scope: the status route vs the same route on singletons');
    expect(report).toContain('| figure | measured | baseline (bare Nest, singletons) |');
    const { result } = data('scope');
    expectRows(result.rows, 2);
    for (const row of result.rows) expect(row.target).toBe('<= 1.15x');
    expect(result.errors).toBe(0);
    // CPU only: no fixed-rate part, so no chart.
    expect(existsSync(join(out, 'benchmarks-scope.svg'))).toBe(false);
  });

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
