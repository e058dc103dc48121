import { Injectable } from '@nestjs/common';
import { JsonSchemaObject } from '../llm/chat-model.port';
import { AgentTool, ToolInputError } from './agent-tool';
import { evaluateArithmetic } from './arithmetic';

@Injectable()
export class CalculatorTool implements AgentTool {
  readonly name = 'calculator';
  readonly description = 'Evaluates an arithmetic expression with + - * / % ^ and parentheses.';
  readonly parameters: JsonSchemaObject = {
    type: 'object',
    properties: { expression: { type: 'string', description: 'for example (17 + 3) * 2' } },
    required: ['expression'],
    additionalProperties: false,
  };

  execute(args: Record<string, unknown>): Promise<{ expression: string; value: number }> {
    const expression = String(args.expression);
    if (expression.length > 500)
      throw new ToolInputError('expression is longer than 500 characters');
    try {
      // Round away binary noise such as 0.1 + 0.2 = 0.30000000000000004.
      const value = Number(evaluateArithmetic(expression).toPrecision(12));
      return Promise.resolve({ expression, value });
    } catch (err) {
      throw new ToolInputError(`cannot evaluate "${expression}": ${(err as Error).message}`);
    }
  }
}
