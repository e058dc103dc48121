import { Injectable, Logger, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { Agent, AgentOptions, DELEGATE_TOOL, SUPERVISOR } from './agent-definition';
import { ToolRegistry } from './tools/tool.registry';

const SUPERVISOR_INSTRUCTIONS =
  'You are the supervisor of a team of agents. Answer the user, calling tools when they help. ' +
  `When a task fits one of your agents better, hand it over with the ${DELEGATE_TOOL} tool and use ` +
  'its answer. Keep answers short and say which tool results you used.';

// Every agent: the built-in supervisor, and those declared with @Agent() in any module.
const NAME = /^[A-Za-z0-9_-]{1,64}$/;

@Injectable()
export class AgentRegistry implements OnModuleInit, OnApplicationBootstrap {
  private readonly logger = new Logger(AgentRegistry.name);
  private readonly agents = new Map<string, AgentOptions>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly tools: ToolRegistry,
  ) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders({ metadataKey: Agent.KEY })) {
      const options = this.discovery.getMetadataByDecorator(Agent, wrapper);
      if (options) this.register(options);
    }
    if (this.agents.size > 0) this.logger.log(`Agents: ${[...this.agents.keys()].join(', ')}`);
  }

  // Every tool an agent names must exist by now (all modules have registered theirs): a typo fails
  // the start, not a run.
  onApplicationBootstrap(): void {
    const known = new Set(this.tools.names());
    for (const agent of this.agents.values()) {
      const missing = agent.tools.filter((tool) => !known.has(tool));
      if (missing.length > 0) {
        throw new Error(`agent ${agent.name} names unknown tools: ${missing.join(', ')}`);
      }
    }
  }

  register(options: AgentOptions): void {
    if (!NAME.test(options.name)) throw new Error(`agent name "${options.name}" is not valid`);
    if (options.name === SUPERVISOR || this.agents.has(options.name)) {
      throw new Error(`agent ${options.name} is already registered`);
    }
    // Only the supervisor hands tasks over, so delegation is one level deep and cannot loop.
    if (options.tools.includes(DELEGATE_TOOL)) {
      throw new Error(
        `agent ${options.name} cannot use ${DELEGATE_TOOL}; only the supervisor delegates`,
      );
    }
    this.agents.set(options.name, options);
  }

  // The supervisor is built on demand: it may call every tool, and delegate when there are agents.
  get(name: string): AgentOptions | undefined {
    if (name !== SUPERVISOR) return this.agents.get(name);
    const delegate = this.agents.size > 0 ? [DELEGATE_TOOL] : [];
    return {
      name: SUPERVISOR,
      description: 'Answers directly or hands tasks to the other agents.',
      instructions: SUPERVISOR_INSTRUCTIONS,
      tools: [...this.tools.names(), ...delegate],
    };
  }

  names(): string[] {
    return [SUPERVISOR, ...this.agents.keys()];
  }

  // The agents a supervisor may delegate to.
  delegates(): AgentOptions[] {
    return [...this.agents.values()];
  }
}
