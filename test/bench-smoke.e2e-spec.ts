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

  it('runs the status figure against its baseline and writes the report, data and chart', async () => {
    const { stdout } = await run(
      join(ROOT, 'node_modules', '.bin', 'ts-node'),
      ['--transpile-only', 'bench/run.ts', 'status', '--smoke', '--out', out],
      {
        cwd: ROOT,
        env: { ...process.env, BENCH_ADMIN_DATABASE_URL: process.env.TEST_ADMIN_DATABASE_URL },
        timeout: 120_000,
      },
    );
    expect(stdout).toMatch(/status: server CPU per request: \d+ us vs \d+ us = [\d.]+x/);
    const report = readFileSync(join(out, 'benchmarks.md'), 'utf8');
    expect(report).toContain('| server CPU per request |');
    expect(report).toContain(`Node ${process.versions.node}`);
    const data = JSON.parse(readFileSync(join(out, 'benchmarks-status.json'), 'utf8'));
    expect(data.result.rows).toHaveLength(3);
    for (const row of data.result.rows) {
      expect(row.ratio.median).toBeGreaterThan(0);
      expect(Number.isFinite(row.ratio.median)).toBe(true);
      expect(row.ratio.rounds).toBe(2);
    }
    expect(data.result.errors).toBe(0);
    expect(existsSync(join(out, 'benchmarks-status.svg'))).toBe(true);
    expect(readFileSync(join(out, 'benchmarks-status.svg'), 'utf8')).toMatch(/^<svg/);
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
