import { Injectable } from '@nestjs/common';
import { z } from 'zod';
import { AgentTool, ToolHandler, ToolInputError } from './agent-tool';

const input = z.object({
  timezone: z.string().max(100).optional().describe('IANA zone such as Europe/Paris; default UTC'),
});

@AgentTool({
  name: 'clock',
  description: 'Returns the current date and time, in UTC or an IANA time zone.',
  input,
})
@Injectable()
export class ClockTool implements ToolHandler<z.infer<typeof input>> {
  execute({ timezone = 'UTC' }: z.infer<typeof input>): Promise<{
    iso: string;
    timezone: string;
    local: string;
  }> {
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
