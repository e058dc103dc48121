import { Injectable } from '@nestjs/common';
import { z } from 'zod';
import { AgentTool, ToolHandler, ToolInputError } from './agent-tool';
import { evaluateArithmetic } from './arithmetic';

const input = z.object({
  expression: z.string().max(500).describe('for example (17 + 3) * 2'),
});

@AgentTool({
  name: 'calculator',
  description: 'Evaluates an arithmetic expression with + - * / % ^ and parentheses.',
  input,
})
@Injectable()
export class CalculatorTool implements ToolHandler<z.infer<typeof input>> {
  execute({ expression }: z.infer<typeof input>): Promise<{ expression: string; value: number }> {
    try {
      // Round away binary noise such as 0.1 + 0.2 = 0.30000000000000004.
      const value = Number(evaluateArithmetic(expression).toPrecision(12));
      return Promise.resolve({ expression, value });
    } catch (err) {
      throw new ToolInputError(`cannot evaluate "${expression}": ${(err as Error).message}`);
    }
  }
}
