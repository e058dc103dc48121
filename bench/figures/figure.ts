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
  // Connections at once of the fan-out, subscribe and memory figures (2,000; a few in a smoke run).
  sockets: number;
  // Users whose requests take turns in the scope figure (1,000; a few in a smoke run).
  users: number;
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

// A named distribution for the chart, in milliseconds.
export interface ChartSeries {
  name: string;
  values: number[];
}

export interface FigureResult {
  name: string;
  title: string;
  rows: FigureRow[];
  // The table's headers of `product` and `baseline`, when the rows set other things against each
  // other (default: product, baseline).
  columns?: [string, string];
  // Milliseconds per request at the fixed rate (or what chart.label says), for the chart; a
  // figure without latencies has no latency chart.
  latencies?: { product: number[]; baseline: number[] };
  errors: number;
  // What the chart plots (its title and the image's text), and other series than the product's
  // and the baseline's latencies; without it, the latencies at the fixed rate.
  chart?: { label: string; series?: ChartSeries[] };
  // What `errors` counts; without it, non-200 answers.
  errorsLabel?: string;
  // What one round is; without it, `seconds` of load.
  round?: string;
  // How the figure is measured, a paragraph under its table.
  method?: string;
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
