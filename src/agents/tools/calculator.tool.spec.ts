import 'reflect-metadata';
import { DiscoveryService } from '@nestjs/core';
import { AgentTool, ToolInputError, ToolOptions } from './agent-tool';
import { CalculatorTool } from './calculator.tool';
import { toolContext } from '../../../test/fixtures/tool-context.fixture';
import { ToolRegistry } from './tool.registry';

// Reports a throw as a rejection whether the tool throws synchronously or rejects.
function calculate(expression: string) {
  return Promise.resolve().then(() => new CalculatorTool().execute({ expression }));
}

// The tool as the agents reach it: its declared options and input schema, through the registry.
function registry(): ToolRegistry {
  const declared = Reflect.getMetadata(AgentTool.KEY, CalculatorTool) as ToolOptions;
  const tools = new ToolRegistry({} as DiscoveryService);
  tools.register(declared, new CalculatorTool());
  return tools;
}

const context = () => toolContext();

function callWith(args: Record<string, unknown>) {
  return registry().execute({ id: 'call_1_1', name: 'calculator', arguments: args }, context());
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

  it('keeps the digits that matter', async () => {
    await expect(calculate('1 / 3')).resolves.toMatchObject({ value: 0.333333333333 });
  });

  it('reports an expression it cannot evaluate as bad input', async () => {
    const result = calculate('1 / 0');

    await expect(result).rejects.toBeInstanceOf(ToolInputError);
    await expect(result).rejects.toThrow('cannot evaluate "1 / 0": division by zero');
  });

  describe('declared input', () => {
    it('is offered to the model as an expression string of at most 500 characters', () => {
      expect(registry().specs()).toEqual([
        {
          name: 'calculator',
          description: expect.stringContaining('arithmetic'),
          parameters: {
            type: 'object',
            properties: {
              expression: { type: 'string', maxLength: 500, description: expect.any(String) },
            },
            required: ['expression'],
          },
        },
      ]);
    });

    it('accepts an expression of exactly 500 characters', async () => {
      const longest = `${'1+'.repeat(249)}10`;

      await expect(callWith({ expression: longest })).resolves.toEqual({
        result: { expression: longest, value: 259 },
        isError: false,
      });
    });

    it.each([
      ['an expression longer than 500 characters', { expression: `${'1+'.repeat(250)}1` }],
      ['a number', { expression: 42 }],
      ['no expression', {}],
    ])('refuses %s', async (_case, args) => {
      const outcome = await callWith(args);

      expect(outcome.isError).toBe(true);
      expect(outcome.result).toEqual({
        error: expect.stringMatching(/^invalid arguments: .*at expression/),
      });
    });

    it('gives the model the reason an expression failed', async () => {
      await expect(callWith({ expression: '2 x 3' })).resolves.toEqual({
        result: { error: 'cannot evaluate "2 x 3": unexpected "x"' },
        isError: true,
      });
    });
  });
});
