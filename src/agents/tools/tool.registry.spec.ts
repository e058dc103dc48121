import { JsonSchemaObject, ToolCall } from '../llm/chat-model.port';
import { AgentTool, ToolContext, ToolInputError } from './agent-tool';
import { ToolRegistry } from './tool.registry';

const SCHEMA: JsonSchemaObject = {
  type: 'object',
  properties: {
    text: { type: 'string' },
    count: { type: 'integer' },
    ratio: { type: 'number' },
    flag: { type: 'boolean' },
  },
  required: ['text'],
  additionalProperties: false,
};

function fakeTool(overrides: Partial<AgentTool> = {}): AgentTool {
  return {
    name: 'echo',
    description: 'returns its arguments',
    parameters: SCHEMA,
    execute: (args) => Promise.resolve({ echoed: args }),
    ...overrides,
  };
}

function call(args: Record<string, unknown>, name = 'echo'): ToolCall {
  return { id: 'call_1_1', name, arguments: args };
}

function context(signal = new AbortController().signal): ToolContext {
  return { userId: 'user-1', runId: 'run-1', threadId: 'thread-1', signal };
}

function registryWith(...tools: AgentTool[]): ToolRegistry {
  const registry = new ToolRegistry();
  tools.forEach((tool) => registry.register(tool));
  return registry;
}

describe('ToolRegistry', () => {
  it('lists the specs of registered tools', () => {
    const registry = registryWith(fakeTool(), fakeTool({ name: 'other' }));

    expect(registry.specs()).toEqual([
      { name: 'echo', description: 'returns its arguments', parameters: SCHEMA },
      { name: 'other', description: 'returns its arguments', parameters: SCHEMA },
    ]);
  });

  it('refuses a second tool with the same name', () => {
    const registry = registryWith(fakeTool());

    expect(() => registry.register(fakeTool())).toThrow('tool echo is already registered');
  });

  it('runs the tool with the arguments and context', async () => {
    const execute = jest.fn().mockResolvedValue({ ok: true });
    const ctx = context();
    const registry = registryWith(fakeTool({ execute }));

    const outcome = await registry.execute(call({ text: 'hi', count: 2 }), ctx);

    expect(outcome).toEqual({ result: { ok: true }, isError: false });
    expect(execute).toHaveBeenCalledWith({ text: 'hi', count: 2 }, ctx);
  });

  it('returns an error result for an unknown tool', async () => {
    const outcome = await registryWith(fakeTool()).execute(call({}, 'nope'), context());

    expect(outcome).toEqual({ result: { error: 'unknown tool nope' }, isError: true });
  });

  it.each([
    [{}, 'argument text is required'],
    [{ text: 1 }, 'argument text must be a string'],
    [{ text: 'a', count: 1.5 }, 'argument count must be a integer'],
    [{ text: 'a', count: '2' }, 'argument count must be a integer'],
    [{ text: 'a', ratio: '0.5' }, 'argument ratio must be a number'],
    [{ text: 'a', ratio: Infinity }, 'argument ratio must be a number'],
    [{ text: 'a', flag: 'yes' }, 'argument flag must be a boolean'],
    [{ text: 'a', extra: 1 }, 'unknown argument extra'],
  ])('rejects arguments %j without running the tool', async (args, error) => {
    const execute = jest.fn();
    const registry = registryWith(fakeTool({ execute }));

    const outcome = await registry.execute(call(args), context());

    expect(outcome).toEqual({ result: { error }, isError: true });
    expect(execute).not.toHaveBeenCalled();
  });

  it('accepts valid arguments of every type', async () => {
    const args = { text: 'a', count: 3, ratio: 0.5, flag: false };

    const outcome = await registryWith(fakeTool()).execute(call(args), context());

    expect(outcome).toEqual({ result: { echoed: args }, isError: false });
  });

  it.each(['constructor', 'toString', 'hasOwnProperty'])(
    'treats an argument named %s as unknown, not as a declared parameter',
    async (name) => {
      const outcome = await registryWith(fakeTool()).execute(
        call({ text: 'a', [name]: 1 }),
        context(),
      );

      expect(outcome).toEqual({ result: { error: `unknown argument ${name}` }, isError: true });
    },
  );

  it('ignores unknown arguments when additional properties are allowed', async () => {
    const tool = fakeTool({ parameters: { ...SCHEMA, additionalProperties: undefined } });

    const outcome = await registryWith(tool).execute(call({ text: 'a', extra: 1 }), context());

    expect(outcome.isError).toBe(false);
  });

  it.each([
    ['an Error', new Error('disk on fire'), 'disk on fire'],
    ['a ToolInputError', new ToolInputError('bad input'), 'bad input'],
    ['a non-Error', 'plain string', 'plain string'],
  ])('turns %s thrown by the tool into an error result', async (_kind, thrown, error) => {
    // A tool may reject with anything, not only an Error.
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    const tool = fakeTool({ execute: () => Promise.reject(thrown) });

    const outcome = await registryWith(tool).execute(call({ text: 'a' }), context());

    expect(outcome).toEqual({ result: { error }, isError: true });
  });

  it('turns a synchronous throw into an error result', async () => {
    const tool = fakeTool({
      execute: () => {
        throw new Error('sync failure');
      },
    });

    const outcome = await registryWith(tool).execute(call({ text: 'a' }), context());

    expect(outcome).toEqual({ result: { error: 'sync failure' }, isError: true });
  });

  it('lets the error propagate when the run is aborted', async () => {
    const controller = new AbortController();
    const cancelled = new Error('cancelled');
    const tool = fakeTool({
      execute: () => {
        controller.abort();
        return Promise.reject(cancelled);
      },
    });

    await expect(
      registryWith(tool).execute(call({ text: 'a' }), context(controller.signal)),
    ).rejects.toBe(cancelled);
  });
});
