import { Injectable } from '@nestjs/common';
import { JsonSchemaObject } from '../llm/chat-model.port';
import { AgentTool, ToolInputError } from './agent-tool';

@Injectable()
export class ClockTool implements AgentTool {
  readonly name = 'clock';
  readonly description = 'Returns the current date and time, in UTC or an IANA time zone.';
  readonly parameters: JsonSchemaObject = {
    type: 'object',
    properties: { timezone: { type: 'string', description: 'IANA zone such as Europe/Paris' } },
    additionalProperties: false,
  };

  execute(
    args: Record<string, unknown>,
  ): Promise<{ iso: string; timezone: string; local: string }> {
    const timezone = typeof args.timezone === 'string' ? args.timezone : 'UTC';
    const now = new Date();
    try {
      const local = new Intl.DateTimeFormat('en-GB', {
        timeZone: timezone,
        dateStyle: 'full',
        timeStyle: 'long',
      }).format(now);
      return Promise.resolve({ iso: now.toISOString(), timezone, local });
    } catch {
      throw new ToolInputError(`unknown time zone ${timezone}`);
    }
  }
}
