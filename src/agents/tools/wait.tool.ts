import { Injectable } from '@nestjs/common';
import { setTimeout as delay } from 'node:timers/promises';
import { JsonSchemaObject } from '../llm/chat-model.port';
import { AgentTool, ToolContext, ToolInputError } from './agent-tool';

export const MAX_WAIT_SECONDS = 300;

// Waits, abortably. It gives a development setup a run that stays active long enough to watch,
// cancel or resume it ("wait 30 seconds").
@Injectable()
export class WaitTool implements AgentTool {
  readonly name = 'wait';
  readonly description = `Waits the given number of seconds (at most ${MAX_WAIT_SECONDS}).`;
  readonly parameters: JsonSchemaObject = {
    type: 'object',
    properties: { seconds: { type: 'number', description: 'how long to wait' } },
    required: ['seconds'],
    additionalProperties: false,
  };

  async execute(
    args: Record<string, unknown>,
    ctx: ToolContext,
  ): Promise<{ waited_seconds: number }> {
    const seconds = Number(args.seconds);
    if (!Number.isFinite(seconds) || seconds < 0 || seconds > MAX_WAIT_SECONDS) {
      throw new ToolInputError(`seconds must be between 0 and ${MAX_WAIT_SECONDS}`);
    }
    await delay(seconds * 1000, undefined, { signal: ctx.signal });
    return { waited_seconds: seconds };
  }
}
