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

  it('balances three sides: every position, and every pair in both orders', () => {
    const rounds = alternation(6, ['a', 'b', 'c']);
    expect(rounds).toEqual([
      ['a', 'b', 'c'],
      ['c', 'b', 'a'],
      ['c', 'a', 'b'],
      ['b', 'a', 'c'],
      ['b', 'c', 'a'],
      ['a', 'c', 'b'],
    ]);
    for (const side of ['a', 'b', 'c']) {
      const positions = rounds.map((order) => order.indexOf(side)).sort();
      expect(positions).toEqual([0, 0, 1, 1, 2, 2]);
    }
    // Within each two rounds, a runs before c once and after it once.
    for (let i = 0; i < 6; i += 2) {
      const first = rounds.slice(i, i + 2).map((o) => o.indexOf('a') < o.indexOf('c'));
      expect(first.sort()).toEqual([false, true]);
    }
  });
});
