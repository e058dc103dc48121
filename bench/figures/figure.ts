import { RatioSummary } from '../lib/stats';

// What a figure gets from the runner: sizes, and fresh resources of its own.
export interface BenchContext {
  rounds: number;
  seconds: number;
  warmupSeconds: number;
  clients: number;
  // The server's maintenance database, for reading its statistics (pg_stat_database); never a
  // figure's own database, whose counters it would move.
  adminUrl: string;
  // A fresh, empty database (its URL), dropped after the run.
  database(name: string): Promise<string>;
  port(): Promise<number>;
}

export interface FigureRow {
  figure: string;
  // What is measured (the product, or a variant the figure names) and what it is set against.
  product: string;
  baseline: string;
  // product / baseline, per round (or, where a figure says so, product / its target).
  ratio: RatioSummary;
  target: string;
}

export interface FigureResult {
  name: string;
  title: string;
  rows: FigureRow[];
  // The table's headers of `product` and `baseline`, when the rows set other things against each
  // other (default: product, baseline).
  columns?: [string, string];
  // Milliseconds per request at the fixed rate (or what latencyLabel says), for the chart; a
  // figure without latencies has no latency chart.
  latencies?: { product: number[]; baseline: number[] };
  errors: number;
  // What `latencies` holds, for the chart (absent: the status figure's latency at the fixed rate).
  // No latency chart is drawn when both are empty; an empty side is left out of it.
  latencyLabel?: string;
  // Throughput against load (e.g. runs/s against clients), drawn as a chart of its own.
  scaling?: ScalingSeries;
  // Markdown lines under the table: how a figure was counted, a breakdown of it.
  notes?: string[];
}

export interface ScalingSeries {
  x: string;
  y: string;
  points: { x: number; product: number; baseline: number }[];
}
