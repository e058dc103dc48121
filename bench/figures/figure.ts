import { RatioSummary } from '../lib/stats';

// What a figure gets from the runner: sizes, and fresh resources of its own.
export interface BenchContext {
  rounds: number;
  seconds: number;
  warmupSeconds: number;
  clients: number;
  // A fresh, empty database (its URL), dropped after the run.
  database(name: string): Promise<string>;
  port(): Promise<number>;
}

export interface FigureRow {
  figure: string;
  // What is measured (the product, or a variant the figure names) and what it is set against.
  product: string;
  baseline: string;
  // product / baseline, per round.
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
  // Milliseconds per request at the fixed rate, for the chart; a figure without a fixed-rate part
  // has no chart.
  latencies?: { product: number[]; baseline: number[] };
  errors: number;
}
