import { ChatMessage, ModelChunk, ModelRequest, ToolCall, ToolSpec } from './chat-model.port';
import { OfflineModel } from './offline.model';

const ALL_TOOLS = ['calculator', 'clock', 'wait'];

function toolSpec(name: string): ToolSpec {
  return { name, description: `the ${name} tool`, parameters: { type: 'object', properties: {} } };
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

function request(messages: ChatMessage[], tools = ALL_TOOLS, signal?: AbortSignal): ModelRequest {
  return { messages, tools: tools.map(toolSpec), signal: signal ?? new AbortController().signal };
}

async function collect(req: ModelRequest): Promise<ModelChunk[]> {
  const chunks: ModelChunk[] = [];
  for await (const chunk of new OfflineModel().stream(req)) chunks.push(chunk);
  return chunks;
}

// The turn as the supervisor sees it: reasoning, answer text and tool calls.
async function turn(req: ModelRequest) {
  const chunks = await collect(req);
  const textOf = (type: 'reasoning' | 'text') =>
    chunks.map((c) => (c.type === type ? c.text : '')).join('');
  const calls = chunks.flatMap((c) => (c.type === 'tool_call' ? [c.call] : []));
  return { chunks, reasoning: textOf('reasoning'), text: textOf('text'), calls };
}

function ask(query: string, tools = ALL_TOOLS) {
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

  describe('answering', () => {
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
