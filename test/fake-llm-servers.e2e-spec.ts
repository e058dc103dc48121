// Fidelity checks for test/support/fake-llm-servers.ts: the real AI SDK providers talk to the
// fakes over real HTTP and must parse every scripted response the way they parse the real APIs.
import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import {
  APICallError,
  generateText,
  LanguageModel,
  ModelMessage,
  RetryError,
  StreamProviderError,
  streamText,
  TextStreamPart,
  tool,
  ToolSet,
} from 'ai';
import { z } from 'zod';
import {
  FakeAnthropicServer,
  FakeLlmServer,
  FakeOpenAiServer,
  reasoningThenText,
  startFakeAnthropic,
  startFakeOpenAi,
  textTurn,
  toolCallTurn,
} from './support/fake-llm-servers';

let openAiServer: FakeOpenAiServer;
let anthropicServer: FakeAnthropicServer;

beforeAll(async () => {
  [openAiServer, anthropicServer] = await Promise.all([startFakeOpenAi(), startFakeAnthropic()]);
});

afterAll(async () => {
  await Promise.all([openAiServer?.close(), anthropicServer?.close()]);
});

beforeEach(() => {
  openAiServer.reset();
  anthropicServer.reset();
});

afterEach(() => {
  // Every scripted response must have been used by the test that queued it.
  expect(openAiServer.pending).toBe(0);
  expect(anthropicServer.pending).toBe(0);
});

interface ProviderCase {
  name: string;
  wire: 'openai' | 'anthropic';
  server: () => FakeLlmServer;
  model: (apiKey?: string) => LanguageModel;
  modelId: string;
  toolCallId: string;
}

const providers: ProviderCase[] = [
  {
    name: 'openai-compatible',
    wire: 'openai',
    server: () => openAiServer,
    model: (apiKey = 'k') =>
      createOpenAICompatible({
        name: 'fake',
        baseURL: openAiServer.baseURL,
        apiKey,
        includeUsage: true,
      })('fake-model'),
    modelId: 'fake-model',
    toolCallId: 'call_fake1',
  },
  {
    name: 'openai .chat()',
    wire: 'openai',
    server: () => openAiServer,
    model: (apiKey = 'k') =>
      createOpenAI({ baseURL: openAiServer.baseURL, apiKey }).chat('gpt-4o-mini'),
    modelId: 'gpt-4o-mini',
    toolCallId: 'call_fake1',
  },
  {
    name: 'anthropic',
    wire: 'anthropic',
    server: () => anthropicServer,
    model: (apiKey = 'k') =>
      createAnthropic({ baseURL: anthropicServer.baseURL, apiKey })('claude-sonnet-4-5'),
    modelId: 'claude-sonnet-4-5',
    toolCallId: 'toolu_fake1',
  },
];

const weatherTools = {
  get_weather: tool({
    description: 'Current weather for a city',
    inputSchema: z.object({ city: z.string(), unit: z.enum(['C', 'F']).optional() }),
  }),
} satisfies ToolSet;

interface Collected {
  parts: TextStreamPart<ToolSet>[];
  // What the stream iterator threw, if anything.
  thrown?: unknown;
  // What onError received.
  onError: unknown[];
}

async function collect(
  options: Parameters<typeof streamText>[0],
): Promise<Collected & { result: ReturnType<typeof streamText> }> {
  const onError: unknown[] = [];
  const result = streamText({ ...options, onError: ({ error }) => void onError.push(error) });
  const parts: TextStreamPart<ToolSet>[] = [];
  let thrown: unknown;
  try {
    for await (const part of result.stream) parts.push(part);
  } catch (err) {
    thrown = err;
  }
  return { parts, thrown, onError, result };
}

const textOf = (parts: TextStreamPart<ToolSet>[]) =>
  parts
    .filter((p) => p.type === 'text-delta')
    .map((p) => p.text)
    .join('');

const partsOfType = <T extends TextStreamPart<ToolSet>['type']>(
  parts: TextStreamPart<ToolSet>[],
  type: T,
) => parts.filter((p): p is Extract<TextStreamPart<ToolSet>, { type: T }> => p.type === type);

describe.each(providers)('fake server with $name', (provider) => {
  const server = () => provider.server();

  it('streams a text answer as several text-delta parts', async () => {
    const answer = 'Hello from the fake server, streamed in pieces!';
    server().enqueue(textTurn(answer));

    const { parts, thrown } = await collect({
      model: provider.model(),
      instructions: 'Be brief.',
      prompt: 'Say hello',
    });

    expect(thrown).toBeUndefined();
    const deltas = partsOfType(parts, 'text-delta').filter((p) => p.text !== '');
    expect(deltas.length).toBeGreaterThan(3);
    expect(textOf(parts)).toBe(answer);
    expect(partsOfType(parts, 'finish')[0].finishReason).toBe('stop');

    expect(server().requests).toHaveLength(1);
    const request = server().requests[0];
    expect(request.method).toBe('POST');
    expect(request.body.model).toBe(provider.modelId);
    expect(request.body.stream).toBe(true);
    if (provider.wire === 'openai') {
      expect(request.path).toBe('/v1/chat/completions');
      expect(request.headers.authorization).toBe('Bearer k');
      expect(request.body.stream_options).toEqual({ include_usage: true });
      expect(request.body.messages).toEqual([
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Say hello' },
      ]);
    } else {
      expect(request.path).toBe('/v1/messages');
      expect(request.headers['x-api-key']).toBe('k');
      expect(request.headers['anthropic-version']).toBeDefined();
      expect(request.body.system).toEqual([{ type: 'text', text: 'Be brief.' }]);
      expect(request.body.messages).toEqual([
        { role: 'user', content: [{ type: 'text', text: 'Say hello' }] },
      ]);
    }
  });

  it('round-trips a tool call: parsed input, then the tool result in the next request', async () => {
    const id = provider.toolCallId;
    server().enqueue(
      toolCallTurn([{ id, name: 'get_weather', arguments: { city: 'Paris', unit: 'C' } }]),
      textTurn('It is 21°C and sunny in Paris.'),
    );
    const user: ModelMessage = { role: 'user', content: 'Weather in Paris?' };

    const first = await collect({ model: provider.model(), tools: weatherTools, messages: [user] });
    expect(first.thrown).toBeUndefined();
    const calls = partsOfType(first.parts, 'tool-call');
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({
      toolCallId: id,
      toolName: 'get_weather',
      input: { city: 'Paris', unit: 'C' },
    });
    expect(partsOfType(first.parts, 'tool-input-delta').length).toBeGreaterThan(1);
    expect(partsOfType(first.parts, 'finish')[0].finishReason).toBe('tool-calls');

    const firstBody = server().requests[0].body;
    if (provider.wire === 'openai') {
      expect(firstBody.tools).toEqual([
        expect.objectContaining({
          type: 'function',
          function: expect.objectContaining({
            name: 'get_weather',
            parameters: expect.objectContaining({ required: ['city'] }),
          }),
        }),
      ]);
    } else {
      expect(firstBody.tools).toEqual([
        expect.objectContaining({
          name: 'get_weather',
          input_schema: expect.objectContaining({ required: ['city'] }),
        }),
      ]);
    }

    const { messages: assistantMessages } = await first.result.response;
    const second = await collect({
      model: provider.model(),
      tools: weatherTools,
      messages: [
        user,
        ...assistantMessages,
        {
          role: 'tool',
          content: [
            {
              type: 'tool-result',
              toolCallId: id,
              toolName: 'get_weather',
              output: { type: 'json', value: { tempC: 21 } },
            },
          ],
        },
      ],
    });
    expect(second.thrown).toBeUndefined();
    expect(textOf(second.parts)).toBe('It is 21°C and sunny in Paris.');

    const sent = server().requests[1].body.messages;
    if (provider.wire === 'openai') {
      expect(sent).toEqual([
        { role: 'user', content: 'Weather in Paris?' },
        expect.objectContaining({
          role: 'assistant',
          tool_calls: [
            {
              id,
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city":"Paris","unit":"C"}' },
            },
          ],
        }),
        { role: 'tool', tool_call_id: id, content: '{"tempC":21}' },
      ]);
    } else {
      expect(sent).toEqual([
        { role: 'user', content: [{ type: 'text', text: 'Weather in Paris?' }] },
        {
          role: 'assistant',
          content: [
            { type: 'tool_use', id, name: 'get_weather', input: { city: 'Paris', unit: 'C' } },
          ],
        },
        {
          role: 'user',
          content: [
            expect.objectContaining({
              type: 'tool_result',
              tool_use_id: id,
              content: '{"tempC":21}',
            }),
          ],
        },
      ]);
    }
  });

  it('streams text before a tool call in the same turn', async () => {
    server().enqueue(
      toolCallTurn(
        [{ id: provider.toolCallId, name: 'get_weather', arguments: { city: 'Oslo' } }],
        {
          text: 'Let me check.',
        },
      ),
    );
    const { parts } = await collect({
      model: provider.model(),
      tools: weatherTools,
      prompt: 'Weather in Oslo?',
    });
    expect(textOf(parts)).toBe('Let me check.');
    expect(partsOfType(parts, 'tool-call')[0].input).toEqual({ city: 'Oslo' });
  });

  it('delivers usage to the finish part', async () => {
    server().enqueue(textTurn('Counted.', { usage: { inputTokens: 42, outputTokens: 7 } }));
    const { parts, result } = await collect({ model: provider.model(), prompt: 'Count' });

    const finish = partsOfType(parts, 'finish')[0];
    expect(finish.totalUsage).toMatchObject({ inputTokens: 42, outputTokens: 7, totalTokens: 49 });
    expect(partsOfType(parts, 'finish-step')[0].usage).toMatchObject({
      inputTokens: 42,
      outputTokens: 7,
    });
    await expect(result.usage).resolves.toMatchObject({ inputTokens: 42, outputTokens: 7 });
  });

  it('retries a 429 and succeeds (maxRetries: 2), waiting only retry-after-ms', async () => {
    server().enqueue(
      { status: 429, headers: { 'retry-after-ms': '10', 'retry-after': '0' } },
      { status: 429 }, // the fake adds retry-after-ms: 10 by default
      textTurn('Third time lucky.'),
    );
    const started = Date.now();
    const { parts, thrown, onError } = await collect({
      model: provider.model(),
      prompt: 'Hi',
      maxRetries: 2,
    });
    expect(thrown).toBeUndefined();
    expect(onError).toEqual([]);
    expect(textOf(parts)).toBe('Third time lucky.');
    expect(server().requests).toHaveLength(3);
    // The SDK's own backoff would wait 2 s + 4 s; retry-after-ms makes it near-instant. The bound
    // is far from both, so a busy machine (a 1.6 s run was seen) does not decide it.
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('honours a longer retry-after-ms (300 ms) instead of the 2 s exponential backoff', async () => {
    server().enqueue({ status: 503, retryAfterMs: 300 }, textTurn('Recovered.'));
    const started = Date.now();
    const { parts } = await collect({ model: provider.model(), prompt: 'Hi', maxRetries: 1 });
    const elapsed = Date.now() - started;
    expect(textOf(parts)).toBe('Recovered.');
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(1900);
  });

  it('gives up after maxRetries with a RetryError wrapping the APICallErrors', async () => {
    server().enqueue({ status: 500 }, { status: 500 });
    const { parts, thrown } = await collect({
      model: provider.model(),
      prompt: 'Hi',
      maxRetries: 1,
    });
    expect(thrown).toBeUndefined();
    const error = partsOfType(parts, 'error')[0]?.error;
    expect(RetryError.isInstance(error)).toBe(true);
    const retry = error as RetryError;
    expect(retry.reason).toBe('maxRetriesExceeded');
    expect(retry.errors).toHaveLength(2);
    expect(APICallError.isInstance(retry.lastError)).toBe(true);
    expect((retry.lastError as APICallError).statusCode).toBe(500);
  });

  it('a socket destroyed mid-stream makes the stream iterator throw (no error part)', async () => {
    server().enqueue(textTurn('one two three four five six seven', { breakAfterChunks: 5 }));
    const { parts, thrown, onError, result } = await collect({
      model: provider.model(),
      prompt: 'Count',
      maxRetries: 2,
    });

    // The text written before the break arrived as text-delta parts...
    expect(textOf(parts).length).toBeGreaterThan(0);
    expect('one two three four five six seven'.startsWith(textOf(parts))).toBe(true);
    // ...then the iterator rejected: no 'error' part, no finish part, onError not called.
    expect(partsOfType(parts, 'error')).toEqual([]);
    expect(partsOfType(parts, 'finish')).toEqual([]);
    expect(onError).toEqual([]);
    expect(APICallError.isInstance(thrown)).toBe(true);
    expect((thrown as APICallError).message).toBe('Failed to process successful response');
    expect(String((thrown as APICallError).cause)).toContain('terminated');
    await expect(result.text).rejects.toBe(thrown);
    expect(server().requests).toHaveLength(1); // a broken body is never retried
  });

  it('a malformed data line yields an error part (JSONParseError) and finishReason "error"', async () => {
    server().enqueue(textTurn('one two three four five six', { malformedAfterChunks: 5 }));
    const { parts, thrown, onError } = await collect({ model: provider.model(), prompt: 'Count' });

    expect(thrown).toBeUndefined();
    const errors = partsOfType(parts, 'error');
    expect(errors).toHaveLength(1);
    expect((errors[0].error as Error).name).toBe('AI_JSONParseError');
    expect(onError).toEqual([errors[0].error]);
    expect(partsOfType(parts, 'finish')[0].finishReason).toBe('error');
    expect(textOf(parts).length).toBeGreaterThan(0);
  });

  it("an in-stream provider error event yields an error part with the provider's error object", async () => {
    server().enqueue(
      textTurn('one two three four five six', {
        errorAfterChunks: 5,
        streamError: { message: 'Mid-stream failure' },
      }),
    );
    const { parts, thrown } = await collect({ model: provider.model(), prompt: 'Count' });

    expect(thrown).toBeUndefined();
    const errors = partsOfType(parts, 'error');
    expect(errors).toHaveLength(1);
    // AI SDK 7 wraps the provider's error event in a StreamProviderError (AI SDK 6 passed the
    // plain object from the wire); the wire payload stays on `data`.
    const error = errors[0].error;
    expect(StreamProviderError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ message: 'Mid-stream failure' });
    expect(JSON.stringify((error as StreamProviderError).data)).toContain('Mid-stream failure');
    expect(partsOfType(parts, 'finish')[0].finishReason).toBe('error');
  });

  it('a 401 yields an APICallError (statusCode 401) error part and is not retried', async () => {
    server().enqueue({ status: 401 });
    const { parts, thrown, onError, result } = await collect({
      model: provider.model('wrong-key'),
      prompt: 'Hi',
      maxRetries: 2,
    });

    expect(thrown).toBeUndefined();
    const errors = partsOfType(parts, 'error');
    expect(errors).toHaveLength(1);
    const error = errors[0].error;
    expect(APICallError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ statusCode: 401, isRetryable: false });
    expect(onError).toEqual([error]);
    await expect(result.text).rejects.toMatchObject({ name: 'AI_NoOutputGeneratedError' });
    expect(server().requests).toHaveLength(1);
    if (provider.wire === 'openai') {
      expect(server().requests[0].headers.authorization).toBe('Bearer wrong-key');
      expect((error as APICallError).data).toMatchObject({
        error: { type: 'invalid_request_error', code: 'invalid_api_key' },
      });
    } else {
      expect(server().requests[0].headers['x-api-key']).toBe('wrong-key');
      expect((error as APICallError).data).toMatchObject({
        type: 'error',
        error: { type: 'authentication_error' },
      });
    }
  });

  it('answers generateText (non-streaming) with a text and a tool call', async () => {
    server().enqueue(
      textTurn('Plain answer.', { usage: { inputTokens: 5, outputTokens: 3 } }),
      toolCallTurn([{ id: provider.toolCallId, name: 'get_weather', arguments: { city: 'Rome' } }]),
    );
    const text = await generateText({ model: provider.model(), prompt: 'Hi' });
    expect(text.text).toBe('Plain answer.');
    expect(text.usage).toMatchObject({ inputTokens: 5, outputTokens: 3 });
    expect(server().requests[0].body.stream).toBeUndefined();

    const call = await generateText({ model: provider.model(), prompt: 'Hi', tools: weatherTools });
    expect(call.toolCalls).toMatchObject([
      { toolCallId: provider.toolCallId, toolName: 'get_weather', input: { city: 'Rome' } },
    ]);
    expect(call.finishReason).toBe('tool-calls');
  });

  it('spaces chunks by delayMs', async () => {
    server().enqueue(textTurn('a b c d', { delayMs: 40 }));
    const started = Date.now();
    const { parts } = await collect({ model: provider.model(), prompt: 'Hi' });
    expect(textOf(parts)).toBe('a b c d');
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  });

  it('answers 500 with a "no scripted response" error when the queue is empty', async () => {
    const { parts } = await collect({ model: provider.model(), prompt: 'Hi', maxRetries: 0 });
    const error = partsOfType(parts, 'error')[0]?.error as APICallError;
    expect(APICallError.isInstance(error)).toBe(true);
    expect(error.statusCode).toBe(500);
    expect(error.message).toContain('no scripted response');
  });
});

describe('reasoning', () => {
  it('Anthropic: thinking blocks arrive as reasoning parts with the signature', async () => {
    anthropicServer.enqueue(reasoningThenText('First, think it through.', 'The answer is 4.'));
    const { parts } = await collect({
      model: createAnthropic({ baseURL: anthropicServer.baseURL, apiKey: 'k' })(
        'claude-sonnet-4-5',
      ),
      prompt: '2+2?',
    });
    const reasoning = partsOfType(parts, 'reasoning-delta');
    expect(reasoning.map((p) => p.text).join('')).toBe('First, think it through.');
    expect(
      reasoning.some((p) => typeof p.providerMetadata?.anthropic?.signature === 'string'),
    ).toBe(true);
    expect(textOf(parts)).toBe('The answer is 4.');
  });

  it('OpenAI-compatible: reasoning_content deltas arrive as reasoning parts', async () => {
    openAiServer.enqueue(reasoningThenText('Thinking...', 'Done.'));
    const { parts } = await collect({
      model: createOpenAICompatible({ name: 'fake', baseURL: openAiServer.baseURL, apiKey: 'k' })(
        'deepseek-reasoner',
      ),
      prompt: 'Go',
    });
    expect(
      partsOfType(parts, 'reasoning-delta')
        .map((p) => p.text)
        .join(''),
    ).toBe('Thinking...');
    expect(textOf(parts)).toBe('Done.');
    // Without includeUsage the provider does not ask for the usage chunk.
    expect(openAiServer.requests[0].body.stream_options).toBeUndefined();
  });
});

describe('routing', () => {
  it('OpenAI: the Responses API (createOpenAI()(model)) gets a 404 that points to .chat()', async () => {
    const { parts } = await collect({
      model: createOpenAI({ baseURL: openAiServer.baseURL, apiKey: 'k' })('gpt-4o-mini'),
      prompt: 'Hi',
    });
    const error = partsOfType(parts, 'error')[0]?.error as APICallError;
    expect(error.statusCode).toBe(404);
    expect(error.message).toContain('.chat(model)');
    expect(openAiServer.requests[0].path).toBe('/v1/responses');
  });
});
