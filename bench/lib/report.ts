import { FigureResult } from '../figures/figure';
import { quantile } from './stats';

export interface RunInfo {
  date: string;
  node: string;
  machine: string;
  command: string;
  rounds: number;
  seconds: number;
}

const ratio = (r: { median: number; min: number; max: number }) =>
  `${r.median.toFixed(2)}x (${r.min.toFixed(2)} to ${r.max.toFixed(2)})`;

// One section of docs/benchmarks.md: the figure's table, how it was run, its chart if it has one.
export function section(result: FigureResult, run: RunInfo, chart?: string): string {
  const [measured, baseline] = result.columns ?? ['product', 'baseline'];
  const rows = result.rows.map(
    (r) => `| ${r.figure} | ${r.product} | ${r.baseline} | ${ratio(r.ratio)} | ${r.target} |`,
  );
  return [
    `## ${result.title}`,
    '',
    `\`${run.command}\` on ${run.date}: Node ${run.node}, ${run.machine}; ${run.rounds} rounds of ` +
      `${run.seconds} s, the servers' order alternating (A B, B A, ...; with three, each order then ` +
      `its reverse, rotated every two rounds), ratios are ${measured} / baseline per round: median ` +
      `(min to max). Non-200 answers during the run: ${result.errors}.`,
    '',
    `| figure | ${measured} | ${baseline} | ratio | target |`,
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
    ...(chart ? [`![latency distribution at the fixed rate](${chart})`, ''] : []),
  ].join('\n');
}

// Latency percentiles (p1 .. p99.9) of both sides as an SVG line chart.
export function latencyChart(
  title: string,
  latencies: NonNullable<FigureResult['latencies']>,
): string {
  const qs = [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999];
  const series = {
    product: qs.map((q) => quantile(latencies.product, q)),
    baseline: qs.map((q) => quantile(latencies.baseline, q)),
  };
  const width = 640;
  const height = 320;
  const pad = 48;
  const top = Math.max(...series.product, ...series.baseline, 0.001) * 1.1;
  const x = (i: number) => pad + (i * (width - 2 * pad)) / (qs.length - 1);
  const y = (ms: number) => height - pad - (ms / top) * (height - 2 * pad);
  const line = (values: number[], colour: string) =>
    `<polyline fill="none" stroke="${colour}" stroke-width="2" points="${values
      .map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`)
      .join(' ')}"/>`;
  const labels = qs
    .map(
      (q, i) =>
        `<text x="${x(i)}" y="${height - pad + 18}" text-anchor="middle">p${q * 100}</text>`,
    )
    .join('');
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map(
      (f) =>
        `<text x="${pad - 6}" y="${y(top * f) + 4}" text-anchor="end">${(top * f).toFixed(1)}</text>`,
    )
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>
<text x="${width / 2}" y="18" text-anchor="middle" font-size="13">${escape(title)}: latency (ms) at the fixed rate</text>
<line x1="${pad}" y1="${height - pad}" x2="${width - pad}" y2="${height - pad}" stroke="#888"/>
<line x1="${pad}" y1="${pad}" x2="${pad}" y2="${height - pad}" stroke="#888"/>
${labels}${ticks}
${line(series.product, '#1f5fbf')}${line(series.baseline, '#c0392b')}
<text x="${width - pad}" y="${pad}" text-anchor="end" fill="#1f5fbf">product</text>
<text x="${width - pad}" y="${pad + 14}" text-anchor="end" fill="#c0392b">baseline</text>
</svg>
`;
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
