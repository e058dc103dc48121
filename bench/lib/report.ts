import { ChartSeries, FigureResult } from '../figures/figure';
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

const DEFAULT_CHART = 'latency (ms) at the fixed rate';
const COLOURS = ['#1f5fbf', '#c0392b', '#27ae60', '#8e44ad', '#d35400', '#7f8c8d'];

// The latency chart's series: the figure's own, or the product's and the baseline's latencies.
function seriesOf(result: FigureResult): ChartSeries[] {
  if (result.chart?.series) return result.chart.series;
  const latencies = result.latencies ?? { product: [], baseline: [] };
  return [
    { name: 'product', values: latencies.product },
    { name: 'baseline', values: latencies.baseline },
  ];
}

// Whether a figure has a distribution to draw (commits and scope have none).
export const hasLatencyChart = (result: FigureResult) =>
  seriesOf(result).some((s) => s.values.length > 0);

// One section of docs/benchmarks.md: the figure's table, how it was run, its notes and charts
// (`chart` absent when the figure has no distribution, `scalingChart` when it has no scaling).
export function section(
  result: FigureResult,
  run: RunInfo,
  chart?: string,
  scalingChart?: string,
): string {
  const [measured, baseline] = result.columns ?? ['product', 'baseline'];
  const rows = result.rows.map(
    (r) => `| ${r.figure} | ${r.product} | ${r.baseline} | ${ratio(r.ratio)} | ${r.target} |`,
  );
  const alt = result.chart?.label ?? 'latency distribution at the fixed rate';
  return [
    `## ${result.title}`,
    '',
    `\`${run.command}\` on ${run.date}: Node ${run.node}, ${run.machine}; ${run.rounds} rounds ` +
      `${result.round ?? `of ${run.seconds} s`}, the servers' order alternating (A B, B A, ...; ` +
      `with three, each order then its reverse, rotated every two rounds), ratios are ${measured} ` +
      `/ baseline per round: median (min to max). ` +
      `${result.errorsLabel ?? 'Non-200 answers during the run'}: ${result.errors}.`,
    '',
    `| figure | ${measured} | ${baseline} | ratio | target |`,
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
    ...(result.method ? [result.method, ''] : []),
    ...(result.notes?.length ? [...result.notes, ''] : []),
    ...(chart ? [`![${alt}](${chart})`, ''] : []),
    ...(scalingChart
      ? [`![${result.scaling?.y} against ${result.scaling?.x}](${scalingChart})`, '']
      : []),
  ].join('\n');
}

// Percentiles (p1 .. p99.9) of each series as an SVG line chart; a series without values is left
// out.
export function latencyChart(result: FigureResult): string {
  const qs = [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999];
  const series = seriesOf(result)
    .filter((s) => s.values.length > 0)
    .map((s) => ({ name: s.name, points: qs.map((q) => quantile(s.values, q)) }));
  const labels = qs.map((q) => `p${q * 100}`);
  return lineChart(`${result.title}: ${result.chart?.label ?? DEFAULT_CHART}`, labels, series);
}

// Throughput against load (result.scaling) as an SVG line chart, one line per side.
export function scalingChart(result: FigureResult): string {
  const scaling = result.scaling;
  if (!scaling) throw new Error(`${result.name} has no scaling series`);
  return lineChart(
    `${result.title}: ${scaling.y} against ${scaling.x}`,
    scaling.points.map((p) => `${p.x}`),
    [
      { name: 'product', points: scaling.points.map((p) => p.product) },
      { name: 'baseline', points: scaling.points.map((p) => p.baseline) },
    ],
  );
}

// Values at evenly spaced x labels, a polyline per series, y from 0 to the top value + 10%.
function lineChart(
  title: string,
  xLabels: string[],
  series: { name: string; points: number[] }[],
): string {
  const width = 640;
  const height = 320;
  const pad = 48;
  const top = Math.max(...series.flatMap((s) => s.points), 0.001) * 1.1;
  const x = (i: number) => pad + (i * (width - 2 * pad)) / Math.max(1, xLabels.length - 1);
  const y = (v: number) => height - pad - (v / top) * (height - 2 * pad);
  const colour = (i: number) => COLOURS[i % COLOURS.length];
  const line = (values: number[], stroke: string) =>
    `<polyline fill="none" stroke="${stroke}" stroke-width="2" points="${values
      .map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`)
      .join(' ')}"/>`;
  const labels = xLabels
    .map((l, i) => `<text x="${x(i)}" y="${height - pad + 18}" text-anchor="middle">${l}</text>`)
    .join('');
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map(
      (f) =>
        `<text x="${pad - 6}" y="${y(top * f) + 4}" text-anchor="end">${(top * f).toFixed(1)}</text>`,
    )
    .join('');
  const lines = series.map((s, i) => line(s.points, colour(i))).join('');
  const legend = series
    .map(
      (s, i) =>
        `<text x="${width - pad}" y="${pad + 14 * i}" text-anchor="end" fill="${colour(i)}">${escape(s.name)}</text>`,
    )
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>
<text x="${width / 2}" y="18" text-anchor="middle" font-size="13">${escape(title)}</text>
<line x1="${pad}" y1="${height - pad}" x2="${width - pad}" y2="${height - pad}" stroke="#888"/>
<line x1="${pad}" y1="${pad}" x2="${pad}" y2="${height - pad}" stroke="#888"/>
${labels}${ticks}
${lines}
${legend}
</svg>
`;
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
