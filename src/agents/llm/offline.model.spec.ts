import { ChatMessage, ModelChunk, ModelRequest, ToolCall, ToolSpec } from './chat-model.port';
import { OfflineModel } from './offline.model';

const ALL_TOOLS = ['calculator', 'clock', 'wait'];
const SYSTEM = 'You are the supervisor.';

function toolSpec(name: string): ToolSpec {
  return { name, description: `the ${name} tool`, parameters: { type: 'object', properties: {} } };
}

// The delegate tool as the agent loop offers it: the agents it may hand tasks to are an enum.
function delegateSpec(...agents: string[]): ToolSpec {
  return {
    name: 'delegate',
    description: 'Hands a task to another agent and returns its answer.',
    parameters: {
      type: 'object',
      properties: { agent: { type: 'string', enum: agents }, task: { type: 'string' } },
      required: ['agent', 'task'],
    },
  };
}

function user(content: string): ChatMessage {
  return { role: 'user', content };
}

function assistantCalling(...calls: ToolCall[]): ChatMessage {
  return { role: 'assistant', content: '', toolCalls: calls };
}

function toolResult(toolName: string, result: object, isError = false): ChatMessage {
  return {
    role: 'tool',
    toolCallId: `id_${toolName}`,
    toolName,
    content: JSON.stringify(result),
    isError,
  };
}

function request(
  messages: ChatMessage[],
  tools: (string | ToolSpec)[] = ALL_TOOLS,
  signal?: AbortSignal,
): ModelRequest {
  return {
    system: SYSTEM,
    messages,
    tools: tools.map((t) => (typeof t === 'string' ? toolSpec(t) : t)),
    signal: signal ?? new AbortController().signal,
  };
}

async function collect(req: ModelRequest): Promise<ModelChunk[]> {
  const chunks: ModelChunk[] = [];
  for await (const chunk of new OfflineModel().stream(req)) chunks.push(chunk);
  return chunks;
}

// The turn as the supervisor sees it: reasoning, answer text and tool calls; usage comes last.
async function turn(req: ModelRequest) {
  const all = await collect(req);
  const usage = all.at(-1);
  const chunks = all.slice(0, -1);
  const textOf = (type: 'reasoning' | 'text') =>
    chunks.map((c) => (c.type === type ? c.text : '')).join('');
  const calls = chunks.flatMap((c) => (c.type === 'tool_call' ? [c.call] : []));
  return { chunks, usage, reasoning: textOf('reasoning'), text: textOf('text'), calls };
}

function ask(query: string, tools: (string | ToolSpec)[] = ALL_TOOLS) {
  return turn(request([user(query)], tools));
}

describe('OfflineModel', () => {
  describe('planning tool calls', () => {
    it('emits reasoning first, then a calculator call with the expression', async () => {
      const { chunks, calls } = await ask('What is 17 * 23?');

      expect(chunks.map((c) => c.type)).toEqual(['reasoning', 'tool_call']);
      expect(chunks[0]).toMatchObject({
        type: 'reasoning',
        text: expect.stringContaining('17 * 23'),
      });
      expect(calls).toEqual([
        { id: 'call_1_1', name: 'calculator', arguments: { expression: '17 * 23' } },
      ]);
    });

    it('calls the calculator once per expression, with distinct ids', async () => {
      const { calls } = await ask('What is (2 + 3) * 4? And 10 - 7?');

      expect(calls).toEqual([
        { id: 'call_1_1', name: 'calculator', arguments: { expression: '(2 + 3) * 4' } },
        { id: 'call_1_2', name: 'calculator', arguments: { expression: '10 - 7' } },
      ]);
    });

    it('numbers call ids by the step since the question', async () => {
      const earlier = assistantCalling({ id: 'call_1_1', name: 'clock', arguments: {} });
      const { calls } = await turn(request([user('What is 6 * 7?'), earlier]));

      expect(calls.map((c) => c.id)).toEqual(['call_2_1']);
    });

    it('asks the clock for the time', async () => {
      const { calls } = await ask('what time is it');

      expect(calls).toEqual([{ id: 'call_1_1', name: 'clock', arguments: {} }]);
    });

    it('passes a named time zone to the clock', async () => {
      const { calls } = await ask('What time is it in Europe/Paris?');

      expect(calls).toEqual([
        { id: 'call_1_1', name: 'clock', arguments: { timezone: 'Europe/Paris' } },
      ]);
    });

    it.each([
      ['wait 2 seconds', 2],
      ['wait 500 ms', 0.5],
      ['Wait 1500 milliseconds', 1.5],
      ['please wait 3s', 3],
    ])('turns "%s" into wait %p seconds', async (query, seconds) => {
      const { calls } = await ask(query);

      expect(calls).toEqual([{ id: 'call_1_1', name: 'wait', arguments: { seconds } }]);
    });

    it.each([
      ['What is 2 + 2.', '2 + 2'],
      ['Hello. 2+2', '2+2'],
      ['compute (17 + 3) * 2.', '(17 + 3) * 2'],
      ['is .5 + 1 right?', '.5 + 1'],
    ])('leaves sentence punctuation out of the expression: %s', async (query, expression) => {
      const { calls } = await ask(query);

      expect(calls).toEqual([{ id: 'call_1_1', name: 'calculator', arguments: { expression } }]);
    });

    it('does not mistake the wait duration for arithmetic', async () => {
      const { calls } = await ask('wait 2 seconds, then what is 3 * 4');

      expect(calls.map((c) => [c.name, c.arguments])).toEqual([
        ['wait', { seconds: 2 }],
        ['calculator', { expression: '3 * 4' }],
      ]);
    });

    it.each([
      ['What is 17 * 23?', ['clock', 'wait']],
      ['what time is it', ['calculator', 'wait']],
      ['wait 2 seconds', ['calculator', 'clock']],
    ])('does not call a tool that is not offered: %s', async (query, offered) => {
      const { calls, text } = await ask(query, offered);

      expect(calls).toEqual([]);
      expect(text).toContain(`You said: "${query}"`);
    });
  });

  describe('notifications', () => {
    it('calls notify with what to say, when the tool is offered', async () => {
      const { calls } = await ask('Notify me that the build is done', [...ALL_TOOLS, 'notify']);
      expect(calls).toEqual([
        { id: 'call_1_1', name: 'notify', arguments: { message: 'the build is done' } },
      ]);
    });

    it('does not when it is not offered', async () => {
      expect((await ask('notify me that 2 + 2 is done')).calls.map((c) => c.name)).toEqual([
        'calculator',
      ]);
    });

    it('answers from the recorded notification', async () => {
      const { text } = await turn(
        request([
          user('notify me that it works'),
          assistantCalling({ id: 'c', name: 'notify', arguments: { message: 'it works' } }),
          toolResult('notify', { notified: true, message: 'it works' }),
        ]),
      );
      expect(text).toBe('I recorded the notification: "it works".');
    });
  });

  describe('explicit tool calls', () => {
    it('calls any offered tool named with "use <tool> {json}", with those arguments', async () => {
      const { calls, reasoning } = await ask('use thread_search {"query": "apollo", "limit": 3}', [
        ...ALL_TOOLS,
        'thread_search',
      ]);

      expect(calls).toEqual([
        { id: 'call_1_1', name: 'thread_search', arguments: { query: 'apollo', limit: 3 } },
      ]);
      expect(reasoning).toContain('thread_search {"query":"apollo","limit":3}');
    });

    it('calls the tool with no arguments when none are given', async () => {
      const { calls } = await ask('please use clock');

      expect(calls).toEqual([{ id: 'call_1_1', name: 'clock', arguments: {} }]);
    });

    it('prefers the explicit call to what the words suggest', async () => {
      const { calls } = await ask('use wait {"seconds": 1} and tell me what 2 + 2 is');

      expect(calls).toEqual([{ id: 'call_1_1', name: 'wait', arguments: { seconds: 1 } }]);
    });

    it('ignores a tool that is not offered', async () => {
      const { calls, text } = await ask('use thread_search {"query": "apollo"}');

      expect(calls).toEqual([]);
      expect(text).toContain('You said: "use thread_search {"query": "apollo"}"');
    });

    it('falls back to reading the words when the named tool is not offered', async () => {
      const { calls } = await ask('use abacus {"x": 1} for 6 * 7');

      expect(calls).toEqual([
        { id: 'call_1_1', name: 'calculator', arguments: { expression: '6 * 7' } },
      ]);
    });

    it.each([
      ['JSON that does not parse', 'use thread_search {query: apollo}'],
      ['two JSON objects', 'use thread_search {"query": "a"} or {"query": "b"}'],
    ])('makes no call for %s', async (_case, query) => {
      const { calls, text } = await ask(query, ['thread_search']);

      expect(calls).toEqual([]);
      expect(text).toContain(`You said: "${query}"`);
    });
  });

  describe('delegation', () => {
    it('delegates "ask <agent> to <task>" when the delegate tool offers the agent', async () => {
      const { calls } = await ask('Ask the researcher to find notes about Apollo', [
        ...ALL_TOOLS,
        delegateSpec('researcher', 'writer'),
      ]);

      expect(calls).toEqual([
        {
          id: 'call_1_1',
          name: 'delegate',
          arguments: { agent: 'researcher', task: 'find notes about Apollo' },
        },
      ]);
    });

    it('accepts "ask <agent> agent to <task>"', async () => {
      const { calls } = await ask('ask writer agent to  draft a haiku ', [delegateSpec('writer')]);

      expect(calls).toEqual([
        { id: 'call_1_1', name: 'delegate', arguments: { agent: 'writer', task: 'draft a haiku' } },
      ]);
    });

    it('delegates the whole task even when it contains arithmetic', async () => {
      const { calls } = await ask('ask the researcher to check 2 + 2', [
        ...ALL_TOOLS,
        delegateSpec('researcher'),
      ]);

      expect(calls.map((c) => c.name)).toEqual(['delegate']);
    });

    it('delegates a task that itself names a tool, rather than calling the tool', async () => {
      const { calls } = await ask('ask the researcher to use thread_search {"query": "apollo"}', [
        'thread_search',
        delegateSpec('researcher'),
      ]);

      expect(calls).toEqual([
        {
          id: 'call_1_1',
          name: 'delegate',
          arguments: { agent: 'researcher', task: 'use thread_search {"query": "apollo"}' },
        },
      ]);
    });

    it('does not delegate to an agent the delegate tool does not offer', async () => {
      const { calls, text } = await ask('ask the poet to write a haiku', [
        ...ALL_TOOLS,
        delegateSpec('researcher'),
      ]);

      expect(calls).toEqual([]);
      expect(text).toContain('You said: "ask the poet to write a haiku"');
    });

    it('does not delegate when no delegate tool is offered', async () => {
      const { calls } = await ask('ask the researcher to find notes about Apollo');

      expect(calls).toEqual([]);
    });

    it('does not delegate when the delegate tool lists no agents', async () => {
      const bare: ToolSpec = { ...delegateSpec(), parameters: { type: 'object', properties: {} } };

      const { calls } = await ask('ask the researcher to find notes', [bare]);

      expect(calls).toEqual([]);
    });
  });

  describe('answering', () => {
    it('answers from a tool that returned null instead of failing', async () => {
      const nothing: ChatMessage = {
        role: 'tool',
        toolCallId: 'c1',
        toolName: 'noop',
        content: 'null',
      };
      const { text } = await turn(request([user('use noop'), assistantCalling(), nothing]));

      expect(text).toBe('noop returned null.');
    });

    it('answers directly when no tool is needed', async () => {
      const { chunks, reasoning, text, calls } = await ask('hello there');

      expect(chunks[0].type).toBe('reasoning');
      expect(reasoning).toContain('No tool is needed');
      expect(calls).toEqual([]);
      expect(text).toContain('You said: "hello there"');
    });

    it('answers from a tool result after the last user message', async () => {
      const messages = [
        user('What is 17 * 23?'),
        assistantCalling({
          id: 'call_1_1',
          name: 'calculator',
          arguments: { expression: '17 * 23' },
        }),
        toolResult('calculator', { expression: '17 * 23', value: 391 }),
      ];
      const { chunks, reasoning, text, calls } = await turn(request(messages));

      expect(chunks[0].type).toBe('reasoning');
      expect(reasoning).toContain('calculator');
      expect(calls).toEqual([]);
      expect(text).toBe('17 * 23 = 391.');
    });

    it('uses every result, and reports a failed tool', async () => {
      const messages = [
        user('wait 1 s and tell me the time in Mars/Base'),
        toolResult('wait', { waited_seconds: 1 }),
        toolResult('clock', { error: 'unknown time zone Mars/Base' }, true),
      ];
      const { reasoning, text } = await turn(request(messages));

      expect(reasoning).toContain('wait and clock');
      expect(text).toBe('I waited 1 seconds. The clock tool failed: unknown time zone Mars/Base.');
    });

    it('says a rejected call was rejected, with the reason', async () => {
      const messages = [
        user('wait 5 seconds'),
        toolResult('wait', { rejected: true, message: 'not now' }, true),
      ];
      const { text } = await turn(request(messages));

      expect(text).toBe('The wait call was rejected: not now.');
    });

    it('says a rejected call was rejected when no reason was given', async () => {
      const messages = [
        user('wait 5 seconds'),
        toolResult('wait', { rejected: true, message: null }, true),
      ];
      const { text } = await turn(request(messages));

      expect(text).toBe('The wait call was rejected.');
    });

    it("answers with the delegate's answer", async () => {
      const messages = [
        user('ask the researcher to find notes about Apollo'),
        toolResult('delegate', { agent: 'researcher', answer: 'Apollo 11 landed in 1969.' }),
      ];
      const { reasoning, text } = await turn(request(messages, [delegateSpec('researcher')]));

      expect(reasoning).toContain('delegate');
      expect(text).toBe('researcher says: Apollo 11 landed in 1969.');
    });

    it('quotes the result of a tool it has no sentence for', async () => {
      const messages = [user('use thread_search {}'), toolResult('thread_search', { hits: 2 })];
      const { text } = await turn(request(messages));

      expect(text).toBe('thread_search returned {"hits":2}.');
    });

    it('ignores tool results from before the last user message', async () => {
      const messages = [
        user('What is 1 + 1?'),
        toolResult('calculator', { expression: '1 + 1', value: 2 }),
        user('What is 5 * 5?'),
      ];
      const { calls, text } = await turn(request(messages));

      expect(text).toBe('');
      expect(calls).toEqual([
        { id: 'call_1_1', name: 'calculator', arguments: { expression: '5 * 5' } },
      ]);
    });
  });

  describe('usage', () => {
    it('reports usage as the last chunk, once', async () => {
      const chunks = await collect(request([user('What is 17 * 23?')]));

      expect(chunks.at(-1)?.type).toBe('usage');
      expect(chunks.filter((c) => c.type === 'usage')).toHaveLength(1);
    });

    it('counts a token per four characters of the system prompt, messages and output', async () => {
      const messages = [user('hello there')];
      const { usage, reasoning, text } = await turn(request(messages));

      expect(usage).toEqual({
        type: 'usage',
        inputTokens: Math.ceil((SYSTEM.length + JSON.stringify(messages).length) / 4),
        outputTokens: Math.ceil((reasoning.length + text.length) / 4),
      });
    });

    it('counts the system prompt as input', async () => {
      const short = await turn(request([user('hello')]));
      const long = await turn({ ...request([user('hello')]), system: SYSTEM + 'x'.repeat(400) });

      expect(long.usage).toMatchObject({
        type: 'usage',
        inputTokens: (short.usage as { inputTokens: number }).inputTokens + 100,
      });
    });

    it('counts tool calls as output', async () => {
      const { usage, reasoning, calls } = await ask('What is 17 * 23?');
      const output = reasoning.length + JSON.stringify(calls[0]).length;

      expect(usage).toMatchObject({ outputTokens: Math.ceil(output / 4) });
    });
  });

  it('is deterministic: the same request gives the same chunks', async () => {
    const query = 'wait 1 s, what is 2 ^ 10 and what time is it';

    expect(await collect(request([user(query)]))).toEqual(await collect(request([user(query)])));
  });

  it('throws when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('cancelled'));

    await expect(
      collect(request([user('What is 1 + 1?')], ALL_TOOLS, controller.signal)),
    ).rejects.toThrow('cancelled');
  });
});
