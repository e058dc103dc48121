import { ToolInputError } from './agent-tool';
import { CalculatorTool } from './calculator.tool';

// Reports a throw as a rejection whether the tool throws synchronously or rejects.
function calculate(expression: unknown) {
  return Promise.resolve().then(() => new CalculatorTool().execute({ expression }));
}

describe('CalculatorTool', () => {
  it('returns the expression and its value', async () => {
    await expect(calculate('(17 + 3) * 2')).resolves.toEqual({
      expression: '(17 + 3) * 2',
      value: 40,
    });
  });

  it('rounds away binary floating-point noise', async () => {
    await expect(calculate('0.1 + 0.2')).resolves.toMatchObject({ value: 0.3 });
  });

  it('reports an expression it cannot evaluate as bad input', async () => {
    const result = calculate('1 / 0');

    await expect(result).rejects.toBeInstanceOf(ToolInputError);
    await expect(result).rejects.toThrow('cannot evaluate "1 / 0": division by zero');
  });

  it('refuses an expression longer than 500 characters', async () => {
    const tooLong = `${'1+'.repeat(250)}1`;

    await expect(calculate(tooLong)).rejects.toThrow('expression is longer than 500 characters');
  });

  it('accepts an expression of exactly 500 characters', async () => {
    const longest = `${'1+'.repeat(249)}10`;

    await expect(calculate(longest)).resolves.toMatchObject({ value: 259 });
  });
});
