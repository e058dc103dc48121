import { evaluateArithmetic } from './arithmetic';

describe('evaluateArithmetic', () => {
  it.each([
    ['2 + 3 * 4', 14],
    ['10 - 4 / 2', 8],
    ['7 % 4 * 2', 6],
    ['2 * 3 ^ 2', 18],
    ['-2 ^ 2', -4],
    ['2 * -3 ^ 2', -18],
    ['2 ^ -1', 0.5],
    ['10 - 3 - 2', 5],
    ['12 / 3 / 2', 2],
  ])('applies precedence and left associativity: %s = %d', (expression, expected) => {
    expect(evaluateArithmetic(expression)).toBe(expected);
  });

  it.each([
    ['(2 + 3) * 4', 20],
    ['((1 + 1) * (2 + 2)) ^ 2', 64],
    ['-(2 + 3)', -5],
  ])('evaluates parentheses first: %s = %d', (expression, expected) => {
    expect(evaluateArithmetic(expression)).toBe(expected);
  });

  it.each([
    ['-3 + 5', 2],
    ['2 * -3', -6],
    ['--2', 2],
    ['+4 - -1', 5],
    ['2 ^ -1', 0.5],
  ])('handles unary signs: %s = %d', (expression, expected) => {
    expect(evaluateArithmetic(expression)).toBe(expected);
  });

  it.each([
    ['2 ^ 3 ^ 2', 512],
    ['2 ^ 3 ^ 0', 2],
  ])('makes ^ right-associative: %s = %d', (expression, expected) => {
    expect(evaluateArithmetic(expression)).toBe(expected);
  });

  it.each([
    ['1.5 + .5', 2],
    ['0.25 * 8', 2],
    ['7 / 2', 3.5],
  ])('handles decimals: %s = %d', (expression, expected) => {
    expect(evaluateArithmetic(expression)).toBe(expected);
  });

  it.each(['1 / 0', '5 % 0', '0 / 0', '1 / (2 - 2)'])(
    'rejects division by zero: %s',
    (expression) => {
      expect(() => evaluateArithmetic(expression)).toThrow('division by zero');
    },
  );

  it.each([
    ['', 'empty expression'],
    ['   ', 'empty expression'],
    ['(1 + 2', 'missing closing parenthesis'],
    ['1 +', 'unexpected end of expression'],
    ['2 3', 'unexpected "3"'],
    ['()', 'unexpected ")"'],
    ['1 + 2)', 'unexpected ")"'],
    ['1..2', 'unexpected "."'],
    ['1e3', 'unexpected "e"'],
    ['2 x 3', 'unexpected "x"'],
    ['2 ^ 1024', 'the result is not a finite number'],
  ])('rejects malformed input %j with "%s"', (expression, message) => {
    expect(() => evaluateArithmetic(expression)).toThrow(message);
  });
});
