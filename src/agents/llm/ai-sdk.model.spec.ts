import type { LanguageModelV4StreamPart, LanguageModelV4Usage } from '@ai-sdk/provider';
import { APICallError, RetryError } from 'ai';
import { convertArrayToReadableStream, MockLanguageModelV4 } from 'ai/test';
import { AiSdkModel, AiSdkSettings, describeFailure } from './ai-sdk.model';
import { ChatMessage, ModelChunk, ModelError, ModelRequest, ToolSpec } from './chat-model.port';

const SETTINGS: AiSdkSettings = { timeoutMs: 120_000, maxRetries: 0 };

function usage(input: number, output: number): LanguageModelV4Usage {
  return {
    inputTokens: { total: input, noCache: input, cacheRead: undefined, cacheWrite: undefined },
    outputTokens: { total: output, text: output, reasoning: undefined },
  };
}

function finish(input = 12, output = 7): LanguageModelV4StreamPart {
  return {
    type: 'finish',
    usage: usage(input, output),
    finishReason: { unified: 'stop', raw: 'stop' },
  };
}

function textParts(...deltas: string[]): LanguageModelV4StreamPart[] {
  return [
    { type: 'text-start', id: 't1' },
    ...deltas.map((delta): LanguageModelV4StreamPart => ({ type: 'text-delta', id: 't1', delta })),
    { type: 'text-end', id: 't1' },
  ];
}

function reasoningParts(...deltas: string[]): LanguageModelV4StreamPart[] {
  return [
    { type: 'reasoning-start', id: 'r1' },
    ...deltas.map((delta): LanguageModelV4StreamPart => ({
      type: 'reasoning-delta',
      id: 'r1',
      delta,
    })),
    { type: 'reasoning-end', id: 'r1' },
  ];
}

// A provider model that streams the given parts, as the AI SDK's own tests do.
function streaming(...parts: LanguageModelV4StreamPart[]): MockLanguageModelV4 {
  return new MockLanguageModelV4({
    doStream: () =>
      Promise.resolve({
        stream: convertArrayToReadableStream<LanguageModelV4StreamPart>([
          { type: 'stream-start', warnings: [] },
          ...parts,
        ]),
      }),
  });
}

// A provider model that sends nothing until the call is aborted, then fails the stream with the
// abort reason, as a fetch body does.
function silentUntilAborted(onCall: () => void = () => undefined): MockLanguageModelV4 {
  return new MockLanguageModelV4({
    doStream: ({ abortSignal }) => {
      const stream = new ReadableStream<LanguageModelV4StreamPart>({
        start(controller) {
          abortSignal?.addEventListener('abort', () => controller.error(abortSignal.reason), {
            once: true,
          });
        },
      });
      onCall();
      return Promise.resolve({ stream });
    },
  });
}

const calculator: ToolSpec = {
  name: 'calculator',
  description: 'Evaluates arithmetic.',
  parameters: {
    type: 'object',
    properties: { expression: { type: 'string', maxLength: 500 } },
    required: ['expression'],
  },
};

function request(overrides: Partial<ModelRequest> = {}): ModelRequest {
  return {
    system: 'You are a careful assistant.',
    messages: [{ role: 'user', content: 'What is 2 + 2?' }],
    tools: [calculator],
    signal: new AbortController().signal,
    ...overrides,
  };
}

async function collect(
  model: MockLanguageModelV4,
  req: ModelRequest = request(),
  settings = SETTINGS,
): Promise<ModelChunk[]> {
  const chunks: ModelChunk[] = [];
  for await (const chunk of new AiSdkModel('test-model', model, settings).stream(req)) {
    chunks.push(chunk);
  }
  return chunks;
}

function apiError(statusCode: number | undefined, message = 'request failed'): APICallError {
  return new APICallError({
    message,
    url: 'https://api.example.com/v1/chat/completions',
    requestBodyValues: {},
    statusCode,
    isRetryable: statusCode === 429 || (statusCode ?? 0) >= 500,
  });
}

describe('AiSdkModel', () => {
  describe('streaming', () => {
    it('maps text deltas to text chunks and the finish to a usage chunk', async () => {
      const chunks = await collect(streaming(...textParts('Four', ' it is.'), finish(12, 7)));

      expect(chunks).toEqual([
        { type: 'text', text: 'Four' },
        { type: 'text', text: ' it is.' },
        { type: 'usage', inputTokens: 12, outputTokens: 7 },
      ]);
    });

    it('maps reasoning deltas to reasoning chunks, before the text', async () => {
      const chunks = await collect(
        streaming(...reasoningParts('Two and ', 'two.'), ...textParts('4'), finish()),
      );

      expect(chunks.filter((c) => c.type !== 'usage')).toEqual([
        { type: 'reasoning', text: 'Two and ' },
        { type: 'reasoning', text: 'two.' },
        { type: 'text', text: '4' },
      ]);
    });

    it("keeps the provider's signature of the reasoning", async () => {
      const signed = { anthropic: { signature: 'sig-1' } };
      const chunks = await collect(
        streaming(
          { type: 'reasoning-start', id: 'r1' },
          { type: 'reasoning-delta', id: 'r1', delta: 'Hmm.' },
          { type: 'reasoning-end', id: 'r1', providerMetadata: signed },
          ...textParts('ok'),
          finish(),
        ),
      );

      expect(chunks).toContainEqual({ type: 'reasoning', text: '', meta: signed });
    });

    it('maps a tool call to a tool_call chunk with the parsed arguments', async () => {
      const chunks = await collect(
        streaming(
          {
            type: 'tool-call',
            toolCallId: 'call_abc',
            toolName: 'calculator',
            input: JSON.stringify({ expression: '2 + 2' }),
          },
          finish(),
        ),
      );

      expect(chunks).toContainEqual({
        type: 'tool_call',
        call: { id: 'call_abc', name: 'calculator', arguments: { expression: '2 + 2' } },
      });
      expect(chunks.filter((c) => c.type === 'tool_call')).toHaveLength(1);
    });

    it('passes on a call to a tool it was not offered, for the tools to refuse', async () => {
      const chunks = await collect(
        streaming(
          { type: 'tool-call', toolCallId: 'c1', toolName: 'nope', input: '{"a":1}' },
          finish(),
        ),
      );

      expect(chunks).toContainEqual({
        type: 'tool_call',
        call: { id: 'c1', name: 'nope', arguments: { a: 1 } },
      });
    });

    it('passes on a call whose input is not a JSON object with no arguments', async () => {
      const chunks = await collect(
        streaming(
          { type: 'tool-call', toolCallId: 'c1', toolName: 'calculator', input: 'not json' },
          { type: 'tool-call', toolCallId: 'c2', toolName: 'calculator', input: '"2 + 2"' },
          finish(),
        ),
      );

      expect(chunks.filter((c) => c.type === 'tool_call')).toEqual([
        { type: 'tool_call', call: { id: 'c1', name: 'calculator', arguments: {} } },
        { type: 'tool_call', call: { id: 'c2', name: 'calculator', arguments: {} } },
      ]);
    });

    it('reports zero tokens when the provider gives no usage', async () => {
      const noUsage: LanguageModelV4StreamPart = {
        type: 'finish',
        usage: {
          inputTokens: {
            total: undefined,
            noCache: undefined,
            cacheRead: undefined,
            cacheWrite: undefined,
          },
          outputTokens: { total: undefined, text: undefined, reasoning: undefined },
        },
        finishReason: { unified: 'stop', raw: undefined },
      };

      const chunks = await collect(streaming(...textParts('ok'), noUsage));

      expect(chunks.at(-1)).toEqual({ type: 'usage', inputTokens: 0, outputTokens: 0 });
    });

    it('turns an error part into a ModelError with code bad_response', async () => {
      const result = collect(
        streaming(...textParts('Fo'), { type: 'error', error: new Error('connection reset') }),
      );

      await expect(result).rejects.toBeInstanceOf(ModelError);
      await expect(result).rejects.toMatchObject({
        code: 'bad_response',
        message: expect.stringContaining('connection reset'),
      });
    });

    it("reads the message of a provider's in-stream error event", async () => {
      const overloaded = {
        type: 'error',
        error: { type: 'overloaded_error', message: 'Overloaded' },
      };

      await expect(
        collect(streaming(...textParts('Fo'), { type: 'error', error: overloaded })),
      ).rejects.toMatchObject({
        code: 'bad_response',
        message: expect.stringContaining('Overloaded'),
      });
    });

    it('turns a provider failure on the call into a readable ModelError', async () => {
      const model = new MockLanguageModelV4({
        doStream: () => Promise.reject(apiError(401, 'Incorrect API key provided')),
      });

      await expect(collect(model)).rejects.toMatchObject({
        name: 'ModelError',
        code: 'auth',
        message: expect.stringContaining('LLM_API_KEY'),
      });
    });

    it('gives up on a model that does not finish within the timeout', async () => {
      const result = collect(silentUntilAborted(), request(), { timeoutMs: 50, maxRetries: 0 });

      await expect(result).rejects.toBeInstanceOf(ModelError);
      await expect(result).rejects.toMatchObject({
        code: 'timeout',
        message: expect.stringContaining('LLM_TIMEOUT_MS'),
      });
    });

    it('lets the cancellation of the run through as it is, not as a ModelError', async () => {
      const controller = new AbortController();
      const cancelled = new Error('cancelled');
      const model = silentUntilAborted(() => controller.abort(cancelled));

      await expect(collect(model, request({ signal: controller.signal }))).rejects.toBe(cancelled);
    });
  });

  describe('the call to the provider', () => {
    async function promptFor(req: ModelRequest) {
      const model = streaming(...textParts('ok'), finish());
      await collect(model, req);
      expect(model.doStreamCalls).toHaveLength(1);
      return model.doStreamCalls[0];
    }

    it('sends the system prompt first', async () => {
      const { prompt } = await promptFor(request({ system: 'You are the researcher.' }));

      expect(prompt[0]).toEqual({ role: 'system', content: 'You are the researcher.' });
    });

    it('sends the conversation: user text, assistant tool calls and tool results', async () => {
      const messages: ChatMessage[] = [
        { role: 'user', content: 'What is 2 + 2?' },
        {
          role: 'assistant',
          content: 'Let me compute.',
          toolCalls: [{ id: 'call_1', name: 'calculator', arguments: { expression: '2 + 2' } }],
        },
        {
          role: 'tool',
          toolCallId: 'call_1',
          toolName: 'calculator',
          content: JSON.stringify({ expression: '2 + 2', value: 4 }),
        },
      ];

      const { prompt } = await promptFor(request({ messages }));

      expect(prompt.slice(1)).toEqual(
        [
          { role: 'user', content: [{ type: 'text', text: 'What is 2 + 2?' }] },
          {
            role: 'assistant',
            content: [
              { type: 'text', text: 'Let me compute.' },
              {
                type: 'tool-call',
                toolCallId: 'call_1',
                toolName: 'calculator',
                input: { expression: '2 + 2' },
              },
            ],
          },
          {
            role: 'tool',
            content: [
              {
                type: 'tool-result',
                toolCallId: 'call_1',
                toolName: 'calculator',
                output: { type: 'json', value: { expression: '2 + 2', value: 4 } },
              },
            ],
          },
        ].map((message) => expect.objectContaining(message)),
      );
    });

    it('leaves out the empty text of an assistant turn that only called tools', async () => {
      const messages: ChatMessage[] = [
        { role: 'user', content: 'time?' },
        { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'clock', arguments: {} }] },
        { role: 'tool', toolCallId: 'c1', toolName: 'clock', content: '{"iso":"x"}' },
      ];

      const { prompt } = await promptFor(request({ messages }));

      expect(prompt[2]).toMatchObject({
        role: 'assistant',
        content: [{ type: 'tool-call', toolCallId: 'c1', toolName: 'clock', input: {} }],
      });
    });

    it("sends a turn's reasoning back first, with its provider signature", async () => {
      const messages: ChatMessage[] = [
        { role: 'user', content: 'time?' },
        {
          role: 'assistant',
          content: '',
          toolCalls: [{ id: 'c1', name: 'clock', arguments: {} }],
          reasoning: { text: 'Use the clock.', meta: { anthropic: { signature: 'sig-1' } } },
        },
        { role: 'tool', toolCallId: 'c1', toolName: 'clock', content: '{"iso":"x"}' },
      ];

      const { prompt } = await promptFor(request({ messages }));

      expect(prompt[2]).toMatchObject({
        role: 'assistant',
        content: [
          {
            type: 'reasoning',
            text: 'Use the clock.',
            providerOptions: { anthropic: { signature: 'sig-1' } },
          },
          { type: 'tool-call', toolCallId: 'c1' },
        ],
      });
    });

    it('declares each tool with its JSON Schema', async () => {
      const { tools } = await promptFor(request());

      expect(tools).toEqual([
        expect.objectContaining({
          type: 'function',
          name: 'calculator',
          description: 'Evaluates arithmetic.',
          inputSchema: expect.objectContaining(calculator.parameters),
        }),
      ]);
    });

    it('passes no abort signal that is already aborted', async () => {
      const { abortSignal } = await promptFor(request());

      expect(abortSignal?.aborted).toBe(false);
    });
  });
});

describe('describeFailure', () => {
  it('says the provider could not be reached when there was no HTTP answer at all', () => {
    const error = describeFailure(apiError(undefined, 'connect ECONNREFUSED'), false, SETTINGS);

    expect(error.code).toBe('unavailable');
    expect(error.message).toContain('LLM_BASE_URL');
  });

  it.each([401, 403])('names LLM_API_KEY when the provider refuses the key (%d)', (status) => {
    const error = describeFailure(apiError(status), false, SETTINGS);

    expect(error).toBeInstanceOf(ModelError);
    expect(error.code).toBe('auth');
    expect(error.message).toContain(`HTTP ${status}`);
    expect(error.message).toContain('LLM_API_KEY');
  });

  it('says how many attempts a rate limit took when retries ran out', () => {
    const errors = [apiError(429), apiError(429), apiError(429)];
    const retried = new RetryError({
      message: 'Failed after 3 attempts',
      reason: 'maxRetriesExceeded',
      errors,
    });

    const error = describeFailure(retried, false, SETTINGS);

    expect(error.code).toBe('rate_limited');
    expect(error.message).toContain('HTTP 429');
    expect(error.message).toContain('after 3 attempts');
  });

  it('does not speak of attempts for an error that was not retried', () => {
    const retried = new RetryError({
      message: 'not retryable',
      reason: 'errorNotRetryable',
      errors: [apiError(429)],
    });

    const error = describeFailure(retried, false, SETTINGS);

    expect(error.code).toBe('rate_limited');
    expect(error.message).not.toContain('attempts');
  });

  it.each([500, 502, 503])('reports the provider as unavailable on HTTP %d', (status) => {
    const error = describeFailure(apiError(status), false, SETTINGS);

    expect(error.code).toBe('unavailable');
    expect(error.message).toContain(`HTTP ${status}`);
  });

  it('reports a request the provider rejected, with its message', () => {
    const error = describeFailure(apiError(400, 'model "gpt-9" does not exist'), false, SETTINGS);

    expect(error.code).toBe('rejected');
    expect(error.message).toContain('HTTP 400');
    expect(error.message).toContain('model "gpt-9" does not exist');
  });

  it('names LLM_TIMEOUT_MS and the limit when the call timed out', () => {
    const error = describeFailure(new Error('aborted'), true, { timeoutMs: 90_000, maxRetries: 2 });

    expect(error.code).toBe('timeout');
    expect(error.message).toContain('90 s');
    expect(error.message).toContain('LLM_TIMEOUT_MS');
  });

  it('calls a timeout a timeout whatever error it surfaced as', () => {
    expect(describeFailure(apiError(503), true, SETTINGS).code).toBe('timeout');
  });

  it('reports a response that broke off after a good status as a bad response', () => {
    const error = describeFailure(apiError(200, 'stream ended early'), false, SETTINGS);

    expect(error.code).toBe('bad_response');
    expect(error.message).toContain('stream ended early');
  });

  it('includes the cause of an error in the detail', () => {
    const err = new Error('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:1') });

    expect(describeFailure(err, false, SETTINGS).message).toContain(
      'fetch failed: connect ECONNREFUSED 127.0.0.1:1',
    );
  });

  it.each([
    ['a message', { type: 'error', message: 'Overloaded' }, 'Overloaded'],
    ['a nested error message', { error: { code: 'server_error', message: 'boom' } }, 'boom'],
    ['no message', { code: 'server_error' }, '{"code":"server_error"}'],
  ])('reads an error object with %s', (_case, body, detail) => {
    const error = describeFailure(body, false, SETTINGS);

    expect(error.code).toBe('bad_response');
    expect(error.message).toContain(detail);
  });

  it.each([
    ['an Error', new Error('Unexpected end of JSON input'), 'Unexpected end of JSON input'],
    ['a non-Error', 'socket hang up', 'socket hang up'],
  ])('reports %s it cannot classify as a bad response, with the detail', (_kind, err, detail) => {
    const error = describeFailure(err, false, SETTINGS);

    expect(error.code).toBe('bad_response');
    expect(error.message).toContain(detail);
  });
});
