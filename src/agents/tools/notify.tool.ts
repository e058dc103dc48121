import { Injectable, Logger } from '@nestjs/common';
import { z } from 'zod';
import { AgentTool, ToolContext, ToolHandler } from './agent-tool';

const input = z.object({
  message: z.string().min(1).max(500).describe('what to tell the user'),
});

// A harmless tool that needs a person's approval: it records a notification for the user (in the
// server log) once they approve. It lets a newcomer see the approval flow with the offline model
// ("notify me that the build is done"), in the chat, over REST or the WebSocket.
@AgentTool({
  name: 'notify',
  description: 'Records a notification for the user. Needs their approval first.',
  input,
  requiresApproval: true,
})
@Injectable()
export class NotifyTool implements ToolHandler<z.infer<typeof input>> {
  private readonly logger = new Logger('Notifications');

  execute(
    { message }: z.infer<typeof input>,
    ctx: ToolContext,
  ): Promise<{ notified: true; message: string }> {
    this.logger.log({ user_id: ctx.userId, run_id: ctx.runId, message }, 'notification recorded');
    return Promise.resolve({ notified: true, message });
  }
}
