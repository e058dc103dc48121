import { DiscoveryService } from '@nestjs/core';

export interface AgentOptions {
  // Unique; what `agent` on run_agent / start_agent names, and what the supervisor delegates to.
  name: string;
  // What the supervisor reads to decide when to hand a task over.
  description: string;
  // The agent's system prompt.
  instructions: string;
  // Names of registered tools this agent may call.
  tools: string[];
}

/**
 * Declares an agent. Put it on an @Injectable() class in any module's providers; the AgentRegistry
 * finds it at start-up. A request picks it with `agent`, and the supervisor can delegate tasks to
 * it. See docs/extending.md.
 *
 *   @Agent({ name: 'researcher', description: '...', instructions: '...', tools: ['thread_search'] })
 *   @Injectable()
 *   export class ResearcherAgent {}
 */
export const Agent = DiscoveryService.createDecorator<AgentOptions>();

export const SUPERVISOR = 'supervisor';
export const DELEGATE_TOOL = 'delegate';
