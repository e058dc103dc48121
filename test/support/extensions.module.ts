import { Injectable, Module } from '@nestjs/common';
import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import { Agent } from '../../src/agents/agent-definition';
import { AgentTool, ToolContext, ToolHandler } from '../../src/agents/tools/agent-tool';

// A team's feature module, as a test builds it: a tool that needs approval, a tool that never
// finishes, and an agent that uses them. Nothing in the core knows about it.

@Injectable()
export class Outbox {
  readonly sent: { to: string; subject: string; userId: string; agentName: string }[] = [];
}

const emailInput = z.object({ to: z.string().email(), subject: z.string().min(1) });

@AgentTool({
  name: 'send_email',
  description: 'Sends an email. A person must approve each one.',
  input: emailInput,
  requiresApproval: true,
})
@Injectable()
export class SendEmailTool implements ToolHandler<z.infer<typeof emailInput>> {
  constructor(private readonly outbox: Outbox) {}

  execute(input: z.infer<typeof emailInput>, ctx: ToolContext) {
    this.outbox.sent.push({ ...input, userId: ctx.userId, agentName: ctx.agentName });
    return Promise.resolve({ sent: true, to: input.to });
  }
}

@AgentTool({
  name: 'stuck',
  description: 'Never answers, and ignores its abort signal.',
  input: z.object({}),
  timeoutMs: 50,
})
@Injectable()
export class StuckTool implements ToolHandler<Record<string, never>> {
  execute() {
    return new Promise<never>(() => undefined);
  }
}

@AgentTool({
  name: 'slow_echo',
  description: 'Echoes its text after a short, abortable pause.',
  input: z.object({ text: z.string() }),
})
@Injectable()
export class SlowEchoTool implements ToolHandler<{ text: string }> {
  async execute({ text }: { text: string }, ctx: ToolContext) {
    await delay(5, undefined, { signal: ctx.signal });
    return { echo: text, user: ctx.userId };
  }
}

@Agent({
  name: 'mailer',
  description: 'Writes and sends emails',
  instructions: 'You send the emails the user asks for, one call per email.',
  tools: ['send_email'],
})
@Injectable()
export class MailerAgent {}

@Module({
  providers: [Outbox, SendEmailTool, StuckTool, SlowEchoTool, MailerAgent],
  exports: [Outbox],
})
export class ExtensionsModule {}
