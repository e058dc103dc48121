import { Injectable, Logger } from '@nestjs/common';
import { DiscoveryModule, DiscoveryService } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { z } from 'zod';
import { ToolCall } from '../llm/chat-model.port';
import { AgentTool, ToolHandler, ToolInputError, ToolOptions } from './agent-tool';
import { CalculatorTool } from './calculator.tool';
import { ClockTool } from './clock.tool';
import { toolContext } from '../../../test/fixtures/tool-context.fixture';
import { ToolRegistry } from './tool.registry';
import { WaitTool } from './wait.tool';

const echoInput = z.object({
  text: z.string(),
  count: z.number().int().optional(),
  mode: z.enum(['loud', 'quiet']).default('quiet'),
});

function options(overrides: Partial<ToolOptions> = {}): ToolOptions {
  return { name: 'echo', description: 'returns its input', input: echoInput, ...overrides };
}

function handler(execute: ToolHandler['execute'] = (input) => Promise.resolve({ echoed: input })) {
  return { execute: jest.fn(execute) };
}

function call(args: Record<string, unknown>, name = 'echo'): ToolCall {
  return { id: 'call_1_1', name, arguments: args };
}

const context = toolContext;

// A DiscoveryService over fixed provider instances that finds them by decorator metadata, as
// Nest's does.
interface FakeWrapper {
  instance?: object;
  metatype: object;
  name?: string;
  // false: the provider depends on request-scoped providers.
  isStatic?: boolean;
}

function discoveryOf(...wrappers: FakeWrapper[]): DiscoveryService {
  return {
    getProviders: ({ metadataKey }: { metadataKey: string }) =>
      wrappers
        .filter((w) => Reflect.getMetadata(metadataKey, w.metatype) !== undefined)
        .map((w) => ({ ...w, isDependencyTreeStatic: () => w.isStatic ?? true })),
    getMetadataByDecorator: (decorator: { KEY: string }, wrapper: { metatype: object }) =>
      Reflect.getMetadata(decorator.KEY, wrapper.metatype),
  } as unknown as DiscoveryService;
}

function registryWith(...tools: [ToolOptions, ToolHandler][]): ToolRegistry {
  const registry = new ToolRegistry(discoveryOf());
  tools.forEach(([opts, h]) => registry.register(opts, h));
  return registry;
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

@AgentTool({
  name: 'shout',
  description: 'upper-cases text',
  input: z.object({ text: z.string() }),
})
@Injectable()
class ShoutTool implements ToolHandler<{ text: string }> {
  execute({ text }: { text: string }): Promise<string> {
    return Promise.resolve(text.toUpperCase());
  }
}

@Injectable()
class NotATool {}

describe('ToolRegistry', () => {
  beforeEach(() => jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined));
  afterEach(() => jest.restoreAllMocks());

  describe('registration', () => {
    it('finds the providers declared with @AgentTool() at start-up', async () => {
      const registry = new ToolRegistry(
        discoveryOf(
          { instance: new ShoutTool(), metatype: ShoutTool },
          { instance: new NotATool(), metatype: NotATool },
        ),
      );

      registry.onModuleInit();

      expect(registry.names()).toEqual(['shout']);
      await expect(registry.execute(call({ text: 'hi' }, 'shout'), context())).resolves.toEqual({
        result: 'HI',
        isError: false,
      });
    });

    it('refuses to start with a tool that depends on request-scoped providers', () => {
      const registry = new ToolRegistry(
        discoveryOf({
          instance: undefined,
          metatype: ShoutTool,
          name: 'ShoutTool',
          isStatic: false,
        }),
      );

      expect(() => registry.onModuleInit()).toThrow(
        'tool shout (ShoutTool) depends on request-scoped providers',
      );
    });

    it('does not start a tool when the run is already cancelled', async () => {
      const execute = jest.fn(() => Promise.resolve('ran'));
      const registry = registryWith([
        { name: 'once', description: 'd', input: z.object({}) },
        { execute },
      ]);
      const cancelled = new AbortController();
      cancelled.abort(new Error('cancelled'));

      await expect(registry.execute(call({}, 'once'), context(cancelled.signal))).rejects.toThrow(
        'cancelled',
      );
      expect(execute).not.toHaveBeenCalled();
    });

    it('finds the built-in tools through Nest discovery', async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [DiscoveryModule],
        providers: [ToolRegistry, CalculatorTool, ClockTool, WaitTool],
      }).compile();
      await moduleRef.init();
      try {
        const registry = moduleRef.get(ToolRegistry);

        expect(registry.names().sort()).toEqual(['calculator', 'clock', 'wait']);
        expect(registry.get('calculator')?.handler).toBe(moduleRef.get(CalculatorTool));
      } finally {
        await moduleRef.close();
      }
    });

    it('refuses a second tool with the same name', () => {
      const registry = registryWith([options(), handler()]);

      expect(() => registry.register(options(), handler())).toThrow(
        'tool echo is already registered',
      );
    });

    it.each(['', 'has space', 'dots.not.allowed', 'x'.repeat(65)])(
      'refuses the tool name %j',
      (name) => {
        expect(() => registryWith([options({ name }), handler()])).toThrow(
          `tool name "${name}" is not valid`,
        );
      },
    );

    it.each(['a', 'thread_search', 'web-fetch', 'X9', 'x'.repeat(64)])(
      'accepts the tool name %j',
      (name) => {
        expect(registryWith([options({ name }), handler()]).names()).toEqual([name]);
      },
    );
  });

  describe('specs', () => {
    it('describes each tool with the JSON Schema of its input, without $schema', () => {
      const registry = registryWith(
        [options(), handler()],
        [options({ name: 'other', input: z.object({}) }), handler()],
      );

      const specs = registry.specs();

      expect(specs).toEqual([
        {
          name: 'echo',
          description: 'returns its input',
          parameters: {
            type: 'object',
            properties: {
              text: { type: 'string' },
              count: expect.objectContaining({ type: 'integer' }),
              mode: { type: 'string', enum: ['loud', 'quiet'], default: 'quiet' },
            },
            // A field with a default may be left out by the model.
            required: ['text'],
          },
        },
        {
          name: 'other',
          description: 'returns its input',
          parameters: { type: 'object', properties: {} },
        },
      ]);
      expect(specs[0].parameters).not.toHaveProperty('$schema');
    });

    it('describes only the named tools, skipping unknown names', () => {
      const registry = registryWith(
        [options(), handler()],
        [options({ name: 'other' }), handler()],
      );

      expect(registry.specs(['other', 'missing']).map((s) => s.name)).toEqual(['other']);
    });

    it('carries field descriptions into the schema', () => {
      const input = z.object({ city: z.string().describe('the city to look up') });
      const registry = registryWith([options({ input }), handler()]);

      expect(registry.specs()[0].parameters).toMatchObject({
        properties: { city: { type: 'string', description: 'the city to look up' } },
      });
    });
  });

  describe('execute', () => {
    it('runs the tool with the parsed input and the context', async () => {
      const echo = handler();
      const ctx = context();

      const outcome = await registryWith([options(), echo]).execute(
        call({ text: 'hi', count: 2 }),
        ctx,
      );

      expect(outcome).toEqual({
        result: { echoed: { text: 'hi', count: 2, mode: 'quiet' } },
        isError: false,
      });
      expect(echo.execute).toHaveBeenCalledWith(
        { text: 'hi', count: 2, mode: 'quiet' },
        { ...ctx, signal: expect.any(AbortSignal) },
      );
    });

    it('drops arguments the schema does not declare', async () => {
      const echo = handler();

      await registryWith([options(), echo]).execute(call({ text: 'a', extra: 1 }), context());

      expect(echo.execute.mock.calls[0][0]).toEqual({ text: 'a', mode: 'quiet' });
    });

    it('returns an error result for an unknown tool', async () => {
      const outcome = await registryWith([options(), handler()]).execute(
        call({}, 'nope'),
        context(),
      );

      expect(outcome).toEqual({ result: { error: 'unknown tool nope' }, isError: true });
    });

    it.each([
      [{}, 'text', 'expected string, received undefined'],
      [{ text: 1 }, 'text', 'expected string, received number'],
      [{ text: 'a', count: 1.5 }, 'count', 'expected int, received number'],
      [{ text: 'a', count: '2' }, 'count', 'expected number, received string'],
      [{ text: 'a', mode: 'angry' }, 'mode', 'expected one of "loud"|"quiet"'],
    ])(
      'rejects the arguments %j without running the tool, naming %s',
      async (args, field, problem) => {
        const echo = handler();

        const outcome = await registryWith([options(), echo]).execute(call(args), context());

        expect(outcome.isError).toBe(true);
        const { error } = outcome.result as { error: string };
        expect(error).toMatch(/^invalid arguments: /);
        expect(error).toContain(problem);
        expect(error).toContain(`at ${field}`);
        expect(error).not.toContain('\n');
        expect(echo.execute).not.toHaveBeenCalled();
      },
    );

    it.each([
      ['an Error', new Error('disk on fire'), 'disk on fire'],
      ['a ToolInputError', new ToolInputError('bad input'), 'bad input'],
      ['a non-Error', 'plain string', 'plain string'],
    ])('turns %s rejected by the tool into an error result', async (_kind, thrown, error) => {
      // A tool may reject with anything, not only an Error.
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      const failing = handler(() => Promise.reject(thrown));

      const outcome = await registryWith([options(), failing]).execute(
        call({ text: 'a' }),
        context(),
      );

      expect(outcome).toEqual({ result: { error }, isError: true });
    });

    it('turns a synchronous throw into an error result', async () => {
      const failing = handler(() => {
        throw new Error('sync failure');
      });

      const outcome = await registryWith([options(), failing]).execute(
        call({ text: 'a' }),
        context(),
      );

      expect(outcome).toEqual({ result: { error: 'sync failure' }, isError: true });
    });

    it('times out a tool that never finishes and aborts its signal', async () => {
      let seen: AbortSignal | undefined;
      const stuck = handler((_input, ctx) => {
        seen = ctx.signal;
        return new Promise(() => undefined);
      });
      const run = new AbortController();

      const outcome = await registryWith([options({ timeoutMs: 20 }), stuck]).execute(
        call({ text: 'a' }),
        context(run.signal),
      );

      expect(outcome).toEqual({
        result: { error: 'the tool did not finish within 20 ms' },
        isError: true,
      });
      expect(seen?.aborted).toBe(true);
      expect(run.signal.aborted).toBe(false); // the run itself goes on
    });

    it('lets a tool finish within its timeout', async () => {
      const quick = handler(() => Promise.resolve('done'));

      await expect(
        registryWith([options({ timeoutMs: 20 }), quick]).execute(call({ text: 'a' }), context()),
      ).resolves.toEqual({ result: 'done', isError: false });
    });

    it('ends a tool that ignores its signal when the run is aborted, with the abort reason', async () => {
      const started = deferred();
      const stubborn = handler(() => {
        started.resolve();
        return new Promise(() => undefined);
      });
      const run = new AbortController();
      const cancelled = new Error('cancelled');

      const outcome = registryWith([options(), stubborn]).execute(
        call({ text: 'a' }),
        context(run.signal),
      );
      await started.promise;
      run.abort(cancelled);

      await expect(outcome).rejects.toBe(cancelled);
    });

    it('passes the abort of the run on to the tool', async () => {
      const started = deferred();
      let seen: AbortSignal | undefined;
      const stubborn = handler((_input, ctx) => {
        seen = ctx.signal;
        started.resolve();
        return new Promise(() => undefined);
      });
      const run = new AbortController();

      const outcome = registryWith([options(), stubborn]).execute(
        call({ text: 'a' }),
        context(run.signal),
      );
      await started.promise;
      run.abort('shutdown');

      await expect(outcome).rejects.toThrow('aborted');
      expect(seen?.aborted).toBe(true);
      expect(seen?.reason).toBe('shutdown');
    });

    it('rejects with the reason when the run is already aborted', async () => {
      const run = new AbortController();
      const cancelled = new Error('cancelled');
      run.abort(cancelled);

      await expect(
        registryWith([options(), handler()]).execute(call({ text: 'a' }), context(run.signal)),
      ).rejects.toBe(cancelled);
    });

    it('lets the error propagate when the run is aborted while the tool fails', async () => {
      const run = new AbortController();
      const cancelled = new Error('cancelled');
      const failing = handler((_input, ctx) => {
        run.abort(cancelled);
        return Promise.reject(ctx.signal.reason as Error);
      });

      await expect(
        registryWith([options(), failing]).execute(call({ text: 'a' }), context(run.signal)),
      ).rejects.toBe(cancelled);
    });
  });
});
