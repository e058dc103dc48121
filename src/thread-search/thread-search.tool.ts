import { Injectable } from '@nestjs/common';
import { z } from 'zod';
import { AgentTool, ToolContext, ToolHandler } from '../agents/tools/agent-tool';
import { ThreadStore } from '../threads/thread.store';

const input = z.object({
  text: z.string().min(2).max(200).describe('words to look for in earlier messages'),
  limit: z
    .number()
    .int()
    .min(1)
    .max(20)
    .optional()
    .describe('at most this many matches; default 5'),
});

// An example of a tool from a feature module: search the user's own conversation history. The
// user comes from the run's context, so a tool can never read another user's data.
@AgentTool({
  name: 'thread_search',
  description: "Searches the user's earlier messages (all threads) for a word or phrase.",
  input,
})
@Injectable()
export class ThreadSearchTool implements ToolHandler<z.infer<typeof input>> {
  constructor(private readonly threads: ThreadStore) {}

  async execute({ text, limit = 5 }: z.infer<typeof input>, ctx: ToolContext) {
    const found = await this.threads.searchMessages(ctx.userId, text, limit);
    return {
      matches: found.map((m) => ({
        thread_id: m.threadId,
        role: m.role,
        content: m.content.length > 300 ? `${m.content.slice(0, 300)}...` : m.content,
        at: m.createdAt.toISOString(),
      })),
    };
  }
}
