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
  // Milliseconds per request at the fixed rate, for the chart.
  latencies: { product: number[]; baseline: number[] };
  errors: number;
}
