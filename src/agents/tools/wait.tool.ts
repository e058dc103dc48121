import { Injectable } from '@nestjs/common';
import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import { AgentTool, ToolContext, ToolHandler } from './agent-tool';

export const MAX_WAIT_SECONDS = 300;

const input = z.object({
  seconds: z.number().min(0).max(MAX_WAIT_SECONDS).describe('how long to wait'),
});

// Waits, abortably. It gives a development setup a run that stays active long enough to watch,
// cancel or resume it ("wait 30 seconds").
@AgentTool({
  name: 'wait',
  description: `Waits the given number of seconds (at most ${MAX_WAIT_SECONDS}).`,
  input,
  timeoutMs: (MAX_WAIT_SECONDS + 5) * 1000,
})
@Injectable()
export class WaitTool implements ToolHandler<z.infer<typeof input>> {
  async execute(
    { seconds }: z.infer<typeof input>,
    ctx: ToolContext,
  ): Promise<{ waited_seconds: number }> {
    // A second at a time, each one reported: a long wait shows how far it has got.
    const whole = Math.floor(seconds);
    for (let second = 1; second <= whole; second++) {
      await delay(1000, undefined, { signal: ctx.signal });
      if (second < seconds) await ctx.progress(second, seconds, `${second} of ${seconds} s`);
    }
    await delay((seconds - whole) * 1000, undefined, { signal: ctx.signal });
    return { waited_seconds: seconds };
  }
}
