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

// The order of the servers in each round. Two: A B, B A, A B, ... (each runs first as often as
// second, so warm-up and drift fall on both). More: each order is followed by its reverse (within
// every two rounds each pair of servers swaps), and the next two rounds rotate it by two places;
// by two, not one, so that two servers keep the plain alternation (a rotation by two is a no-op for
// them). With three, six rounds put every server in every position twice.
export function alternation(rounds: number): ('product' | 'baseline')[][];
export function alternation<S>(rounds: number, sides: readonly S[]): S[][];
export function alternation<S>(rounds: number, sides?: readonly S[]): S[][] {
  const all = sides ?? (['product', 'baseline'] as S[]);
  return Array.from({ length: rounds }, (_, i) => {
    const shift = (2 * Math.floor(i / 2)) % all.length;
    const order = [...all.slice(shift), ...all.slice(0, shift)];
    return i % 2 === 0 ? order : order.reverse();
  });
}
