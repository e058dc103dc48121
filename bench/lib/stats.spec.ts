import { alternation, median, quantile, summarise } from './stats';

describe('bench statistics', () => {
  it('takes nearest-rank quantiles', () => {
    const values = [5, 1, 4, 2, 3];
    expect(median(values)).toBe(3);
    expect(quantile(values, 0.99)).toBe(5);
    expect(quantile(values, 0)).toBe(1);
    expect(quantile([], 0.5)).toBeNaN();
  });

  it('summarises per-round ratios', () => {
    expect(summarise([1.2, 1.5, 1.1])).toEqual({ median: 1.2, min: 1.1, max: 1.5, rounds: 3 });
  });

  it('alternates which side runs first', () => {
    expect(alternation(3)).toEqual([
      ['product', 'baseline'],
      ['baseline', 'product'],
      ['product', 'baseline'],
    ]);
  });
});
