// LLM_PRICES: what a model's tokens cost, in US dollars per million tokens, as JSON:
//   {"gpt-4o-mini": {"input": 0.15, "output": 0.6}, "claude-sonnet-4-5": {"input": 3, "output": 15}}
// A model with no price has no cost (null), rather than a made-up zero.
export interface ModelPrice {
  input: number;
  output: number;
}

export type PriceTable = ReadonlyMap<string, ModelPrice>;

export function parsePrices(text: string | undefined): PriceTable {
  if (!text?.trim()) return new Map();
  const parsed = JSON.parse(text) as unknown;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error('LLM_PRICES must be a JSON object of model: {input, output}');
  }
  const table = new Map<string, ModelPrice>();
  for (const [model, price] of Object.entries(parsed as Record<string, unknown>)) {
    const { input, output } = (price ?? {}) as Record<string, unknown>;
    if (!isPrice(input) || !isPrice(output)) {
      throw new Error(
        `LLM_PRICES.${model} must be {"input": <number>, "output": <number>} (USD per million tokens)`,
      );
    }
    table.set(model, { input, output });
  }
  return table;
}

function isPrice(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

// Dollars for these tokens of this model; null when the model has no price.
export function costOf(
  prices: PriceTable,
  model: string,
  tokens: { input_tokens: number; output_tokens: number },
): number | null {
  const price = prices.get(model);
  if (!price) return null;
  return (tokens.input_tokens * price.input + tokens.output_tokens * price.output) / 1_000_000;
}
