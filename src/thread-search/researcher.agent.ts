import { Injectable } from '@nestjs/common';
import { Agent } from '../agents/agent-definition';

// An example sub-agent: answers questions about what the user discussed before. The supervisor
// delegates to it; a request can also pick it directly with `agent: "researcher"`.
@Agent({
  name: 'researcher',
  description: 'Finds what the user said or was told in earlier conversations',
  instructions:
    "You answer questions about the user's earlier conversations. Search them with thread_search, " +
    'quote what you found with its date, and say plainly when nothing matches.',
  tools: ['thread_search'],
})
@Injectable()
export class ResearcherAgent {}
