import { costOf, parsePrices } from './llm-prices';

describe('LLM prices', () => {
  it('reads a price table and turns tokens into dollars', () => {
    const prices = parsePrices('{"gpt-4o-mini": {"input": 0.15, "output": 0.6}}');
    expect(costOf(prices, 'gpt-4o-mini', { input_tokens: 1_000_000, output_tokens: 500_000 })).toBe(
      0.45,
    );
  });

  it('has no cost for a model without a price, and an empty table when unset', () => {
    expect(costOf(parsePrices(undefined), 'offline', { input_tokens: 5, output_tokens: 5 })).toBe(
      null,
    );
    expect(parsePrices('  ').size).toBe(0);
  });

  it.each([
    ['[]', 'must be a JSON object'],
    ['{"m": {"input": 1}}', 'LLM_PRICES.m must be'],
    ['{"m": {"input": -1, "output": 1}}', 'LLM_PRICES.m must be'],
    ['{"m": {"input": "1", "output": 1}}', 'LLM_PRICES.m must be'],
    ['{"m": null}', 'LLM_PRICES.m must be'],
  ])('refuses %s', (text, message) => {
    expect(() => parsePrices(text)).toThrow(message);
  });

  it('refuses text that is not JSON', () => {
    expect(() => parsePrices('{gpt: 1}')).toThrow(SyntaxError);
  });
});
