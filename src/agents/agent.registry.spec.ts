import 'reflect-metadata';
import { Injectable, Logger } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { z } from 'zod';
import { Agent, AgentOptions, DELEGATE_TOOL, SUPERVISOR } from './agent-definition';
import { AgentRegistry } from './agent.registry';
import { ToolOptions } from './tools/agent-tool';
import { ToolRegistry } from './tools/tool.registry';

function agent(overrides: Partial<AgentOptions> = {}): AgentOptions {
  return {
    name: 'researcher',
    description: 'Finds things in past threads.',
    instructions: 'You research.',
    tools: ['thread_search'],
    ...overrides,
  };
}

function tool(name: string): ToolOptions {
  return { name, description: `the ${name} tool`, input: z.object({}) };
}

// A DiscoveryService over fixed provider classes that finds them by decorator metadata, as
// Nest's does.
function discoveryOf(...classes: (new () => object)[]): DiscoveryService {
  const wrappers = classes.map((metatype) => ({ metatype, instance: new metatype() }));
  return {
    getProviders: ({ metadataKey }: { metadataKey: string }) =>
      wrappers.filter((w) => Reflect.getMetadata(metadataKey, w.metatype) !== undefined),
    getMetadataByDecorator: (decorator: { KEY: string }, wrapper: { metatype: object }) =>
      Reflect.getMetadata(decorator.KEY, wrapper.metatype),
  } as unknown as DiscoveryService;
}

function setup(toolNames: string[] = ['calculator', 'clock'], discovery = discoveryOf()) {
  const tools = new ToolRegistry(discoveryOf());
  toolNames.forEach((name) => tools.register(tool(name), { execute: () => Promise.resolve(null) }));
  return { agents: new AgentRegistry(discovery, tools), tools };
}

@Agent({
  name: 'writer',
  description: 'Writes prose.',
  instructions: 'You write.',
  tools: ['clock'],
})
@Injectable()
class WriterAgent {}

@Injectable()
class PlainService {}

describe('AgentRegistry', () => {
  beforeEach(() => jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined));
  afterEach(() => jest.restoreAllMocks());

  describe('the supervisor', () => {
    it('may call every registered tool and does not delegate when there are no agents', () => {
      const { agents } = setup(['calculator', 'clock', 'wait']);

      expect(agents.get(SUPERVISOR)).toEqual({
        name: SUPERVISOR,
        description: expect.any(String),
        instructions: expect.any(String),
        tools: ['calculator', 'clock', 'wait'],
      });
    });

    it('may also delegate once an agent is registered', () => {
      const { agents } = setup(['calculator']);
      agents.register(agent());

      expect(agents.get(SUPERVISOR)?.tools).toEqual(['calculator', DELEGATE_TOOL]);
    });

    it('is built on demand, so it sees tools registered later', () => {
      const { agents, tools } = setup(['calculator']);
      const before = agents.get(SUPERVISOR)?.tools;

      tools.register(tool('thread_search'), { execute: () => Promise.resolve(null) });

      expect(before).toEqual(['calculator']);
      expect(agents.get(SUPERVISOR)?.tools).toEqual(['calculator', 'thread_search']);
    });

    it('is told to delegate with the delegate tool', () => {
      const { agents } = setup();

      expect(agents.get(SUPERVISOR)?.instructions).toContain(DELEGATE_TOOL);
    });

    it('comes first among the names', () => {
      const { agents } = setup();
      agents.register(agent({ name: 'writer' }));
      agents.register(agent({ name: 'researcher' }));

      expect(agents.names()).toEqual([SUPERVISOR, 'writer', 'researcher']);
    });

    it('is not one of the agents it delegates to', () => {
      const { agents } = setup();
      agents.register(agent());

      expect(agents.delegates().map((a) => a.name)).toEqual(['researcher']);
    });
  });

  describe('registration', () => {
    it('returns a registered agent as declared', () => {
      const { agents } = setup();
      const researcher = agent();

      agents.register(researcher);

      expect(agents.get('researcher')).toEqual(researcher);
    });

    it('returns nothing for an unknown agent', () => {
      expect(setup().agents.get('nobody')).toBeUndefined();
    });

    it('refuses a second agent with the same name', () => {
      const { agents } = setup();
      agents.register(agent());

      expect(() => agents.register(agent({ description: 'another' }))).toThrow(
        'agent researcher is already registered',
      );
      expect(agents.get('researcher')?.description).toBe('Finds things in past threads.');
    });

    it('refuses an agent that would delegate, or has a name the model cannot call', () => {
      const { agents } = setup();

      expect(() => agents.register(agent({ tools: ['delegate'] }))).toThrow(
        'only the supervisor delegates',
      );
      expect(() => agents.register(agent({ name: 'two words' }))).toThrow('is not valid');
    });

    it('fails the start when an agent names a tool nobody registered', () => {
      const { agents } = setup(['thread_search']);
      agents.register(agent());
      agents.register(agent({ name: 'typo', tools: ['thread_serch'] }));

      expect(() => agents.onApplicationBootstrap()).toThrow(
        'agent typo names unknown tools: thread_serch',
      );
    });

    it('refuses an agent named like the supervisor', () => {
      const { agents } = setup();

      expect(() => agents.register(agent({ name: SUPERVISOR }))).toThrow(
        `agent ${SUPERVISOR} is already registered`,
      );
      expect(agents.delegates()).toEqual([]);
    });
  });

  describe('discovery', () => {
    it('finds the providers declared with @Agent() at start-up', () => {
      const { agents } = setup(['clock'], discoveryOf(WriterAgent, PlainService));

      agents.onModuleInit();

      expect(agents.names()).toEqual([SUPERVISOR, 'writer']);
      expect(agents.get('writer')).toEqual({
        name: 'writer',
        description: 'Writes prose.',
        instructions: 'You write.',
        tools: ['clock'],
      });
      expect(agents.get(SUPERVISOR)?.tools).toEqual(['clock', DELEGATE_TOOL]);
    });

    it('finds no agents when none are declared', () => {
      const { agents } = setup(['clock'], discoveryOf(PlainService));

      agents.onModuleInit();

      expect(agents.names()).toEqual([SUPERVISOR]);
      expect(agents.get(SUPERVISOR)?.tools).toEqual(['clock']);
    });

    it('refuses an agent declared twice', () => {
      @Agent({ name: 'writer', description: 'Also writes.', instructions: 'x', tools: [] })
      @Injectable()
      class SecondWriterAgent {}
      const { agents } = setup(['clock'], discoveryOf(WriterAgent, SecondWriterAgent));

      expect(() => agents.onModuleInit()).toThrow('agent writer is already registered');
    });
  });
});
