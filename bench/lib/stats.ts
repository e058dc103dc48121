// Order statistics of a sample, and the per-round ratio summary the suite reports.
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const at = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[at];
}

export const median = (values: readonly number[]) => quantile(values, 0.5);

export interface RatioSummary {
  median: number;
  min: number;
  max: number;
  rounds: number;
}

export function summarise(ratios: readonly number[]): RatioSummary {
  return {
    median: median(ratios),
    min: Math.min(...ratios),
    max: Math.max(...ratios),
    rounds: ratios.length,
  };
}

// A B B A A B B A ...: each side runs first as often as second, so warm-up and drift fall on both.
export function alternation(rounds: number): ('product' | 'baseline')[][] {
  return Array.from({ length: rounds }, (_, i) =>
    i % 2 === 0 ? ['product', 'baseline'] : ['baseline', 'product'],
  );
}
