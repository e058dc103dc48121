import { RunEvent } from '../src/runs/run-event';
import {
  FakeAnthropicServer,
  FakeLlmServer,
  FakeOpenAiServer,
  reasoningThenText,
  startFakeAnthropic,
  startFakeOpenAi,
  textTurn,
  toolCallTurn,
  turn,
} from './support/fake-llm-servers';
import { ExtensionsModule, Outbox } from './support/extensions.module';
import { RestClient } from './support/rest-client';
import { readSse } from './support/sse-client';
import { startTestApp, TestApp } from './support/test-app';
import { streamedText, types } from './support/event-types';

const last = (events: RunEvent[]) => events[events.length - 1];

async function runToEnd(app: TestApp, api: RestClient, body: Record<string, unknown>) {
  const started = await api.post('/api/agent/run_agent', body);
  expect(started.status).toBe(202);
  const { events } = await readSse(`${app.http}/api/agent/${started.body.run_id}/stream`, {
    token: api.token!,
  });
  const status = (await api.get(`/api/agent/${started.body.run_id}/status`)).body;
  return { events, status };
}

// An app whose model provider is a fake server started for it, and a client for one user.
async function startWithFake<F extends FakeLlmServer>(
  start: () => Promise<F>,
  user: string,
  options: (baseURL: string) => Parameters<typeof startTestApp>[0],
) {
  const fake = await start();
  const app = await startTestApp(options(fake.baseURL));
  const api = new RestClient(app.http, await app.token(user));
  const stop = async () => {
    await app.close();
    await fake.close();
  };
  return { fake, app, api, stop };
}

// Real providers through the AI SDK, against fake servers that speak the providers' own wire
// formats over real HTTP.
describe('an OpenAI-compatible provider', () => {
  let fake: FakeOpenAiServer;
  let app: TestApp;
  let api: RestClient;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    ({ fake, app, api, stop } = await startWithFake(startFakeOpenAi, 'priya', (baseURL) => ({
      env: {
        LLM_PROVIDER: 'openai-compatible',
        LLM_BASE_URL: baseURL,
        LLM_MODEL: 'fake-large',
        LLM_MODELS: 'fake-small',
        LLM_API_KEY: 'sk-test',
        LLM_MAX_RETRIES: '2',
      },
    })));
  });
  afterAll(() => stop());
  beforeEach(() => fake.reset());

  it('streams a long answer as tens of coalesced chunks, not thousands, and records usage', async () => {
    const answer = Array.from({ length: 600 }, (_, i) => `w${i}`).join(' ');
    fake.enqueue(
      textTurn(answer, { chunkSize: 3, usage: { inputTokens: 120, outputTokens: 900 } }),
    );
    const { events, status } = await runToEnd(app, api, { query: 'Write a long text' });
    const chunks = events.filter((e) => e.type === 'agent_response_chunk');
    expect(chunks.map((c) => c.data.text).join('')).toBe(answer);
    expect(chunks.length).toBeGreaterThanOrEqual(Math.floor(answer.length / 200));
    expect(chunks.length).toBeLessThan(60); // the fake sent ~1000 deltas
    expect(last(events)).toMatchObject({ type: 'agent_completed', data: { answer } });
    expect(status.usage).toEqual({
      input_tokens: 120,
      output_tokens: 900,
      models: { 'fake-large': { input_tokens: 120, output_tokens: 900 } },
    });
    const sent = fake.requests[0];
    expect(sent.headers.authorization).toBe('Bearer sk-test');
    expect(sent.body.model).toBe('fake-large');
    expect(sent.body.messages[0]).toMatchObject({ role: 'system' });
    expect(sent.body.messages[sent.body.messages.length - 1]).toMatchObject({
      role: 'user',
      content: 'Write a long text',
    });
  });

  it('runs a tool the model calls and sends it the result', async () => {
    fake.enqueue(
      toolCallTurn([{ id: 'call_abc', name: 'calculator', arguments: { expression: '6 * 7' } }]),
      textTurn('It is 42.'),
    );
    const { events } = await runToEnd(app, api, { query: 'What is six times seven?' });
    expect(types(events)).toEqual([
      'agent_started',
      'tool_executing',
      'tool_completed',
      'agent_response_chunk',
      'agent_completed',
    ]);
    // Events name the call by a key of the server's own, unique in the run (models reuse ids).
    expect(events[2].data).toMatchObject({
      call_id: events[1].data.call_id,
      result: { value: 42 },
    });
    expect(events[1].data.call_id).toMatch(/^[0-9a-f-]{36}$/);
    const second = fake.requests[1].body;
    expect(second.tools.map((t: { function: { name: string } }) => t.function.name)).toContain(
      'calculator',
    );
    expect(second.messages).toContainEqual(
      expect.objectContaining({
        role: 'tool',
        tool_call_id: 'call_abc',
        content: expect.stringContaining('42'),
      }),
    );
  });

  it('retries a 429 and then succeeds', async () => {
    fake.enqueue({ status: 429 }, textTurn('Done.'));
    const { events } = await runToEnd(app, api, { query: 'hello' });
    expect(last(events)).toMatchObject({ type: 'agent_completed', data: { answer: 'Done.' } });
    expect(fake.requests).toHaveLength(2);
  });

  it('fails the run with a readable agent_error when the stream breaks off', async () => {
    fake.enqueue(
      textTurn('This answer will not be finished', { chunkSize: 4, breakAfterChunks: 3 }),
    );
    const { events, status } = await runToEnd(app, api, { query: 'hello' });
    expect(last(events).type).toBe('agent_error');
    expect(last(events).data).toMatchObject({
      code: 'bad_response',
      message: expect.stringContaining('broke off'),
    });
    expect(status).toMatchObject({ status: 'failed', error: expect.stringContaining('broke off') });
    // The app carries on.
    fake.enqueue(textTurn('Still here.'));
    expect(last((await runToEnd(app, api, { query: 'again' })).events).data.answer).toBe(
      'Still here.',
    );
  });

  it.each([
    [
      'an in-stream error event',
      { errorAfterChunks: 3, streamError: { message: 'overloaded, try later' } },
    ],
    ['a malformed line', { malformedAfterChunks: 3 }],
  ])('fails the run readably on %s, and the app carries on', async (_label, options) => {
    fake.enqueue(textTurn('This answer will not be finished', { chunkSize: 4, ...options }));
    const { events, status } = await runToEnd(app, api, { query: 'hello' });
    expect(last(events).type).toBe('agent_error');
    expect(last(events).data.code).toBe('bad_response');
    expect(status.status).toBe('failed');
    fake.enqueue(textTurn('Still here.'));
    expect(last((await runToEnd(app, api, { query: 'again' })).events).data.answer).toBe(
      'Still here.',
    );
  });

  it('fails with words a user can act on when the provider keeps failing', async () => {
    fake.enqueue({ status: 503 }, { status: 503 }, { status: 503 });
    const unavailable = await runToEnd(app, api, { query: 'hello' });
    expect(last(unavailable.events).data).toMatchObject({
      code: 'unavailable',
      message: expect.stringMatching(/unavailable \(HTTP 503\) after 3 attempts/),
    });
    fake.enqueue({ status: 401 });
    const refused = await runToEnd(app, api, { query: 'hello' });
    expect(last(refused.events).data).toMatchObject({
      code: 'auth',
      message: expect.stringContaining('LLM_API_KEY'),
    });
    expect(fake.requests).toHaveLength(4); // a 401 is not retried
  });

  it('uses another allowed model when a request asks for it', async () => {
    fake.enqueue(textTurn('Small answer.', { usage: { inputTokens: 5, outputTokens: 2 } }));
    const { status } = await runToEnd(app, api, { query: 'hello', model: 'fake-small' });
    expect(fake.requests[0].body.model).toBe('fake-small');
    expect(status).toMatchObject({
      model: 'fake-small',
      usage: { models: { 'fake-small': { input_tokens: 5 } } },
    });
  });
});

describe('the Anthropic provider', () => {
  let fake: FakeAnthropicServer;
  let app: TestApp;
  let api: RestClient;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    ({ fake, app, api, stop } = await startWithFake(startFakeAnthropic, 'amir', (baseURL) => ({
      env: {
        LLM_PROVIDER: 'anthropic',
        LLM_BASE_URL: baseURL,
        LLM_MODEL: 'claude-sonnet-4-5',
        LLM_API_KEY: 'sk-ant-test',
        LLM_REASONING_BUDGET: '2048',
      },
    })));
  });
  afterAll(() => stop());

  it('streams reasoning as agent_thinking and the answer as chunks', async () => {
    fake.enqueue(reasoningThenText('The user greets me.', 'Hello there!'));
    const { events } = await runToEnd(app, api, { query: 'hi' });
    expect(types(events)).toEqual([
      'agent_started',
      'agent_thinking',
      'agent_response_chunk',
      'agent_completed',
    ]);
    expect(streamedText(events, 'agent_thinking')).toBe('The user greets me.');
    expect(last(events).data.answer).toBe('Hello there!');
    expect(fake.requests[0].headers['x-api-key']).toBe('sk-ant-test');
    // Thinking is asked for, with the configured budget.
    expect(fake.requests[0].body.thinking).toEqual({ type: 'enabled', budget_tokens: 2048 });
  });

  it('runs a tool the model calls, and flags a failed one to the provider', async () => {
    fake.reset();
    fake.enqueue(
      toolCallTurn([
        { id: 'toolu_1', name: 'calculator', arguments: { expression: '2 ^ 8' } },
        { id: 'toolu_2', name: 'calculator', arguments: { expression: '1 / 0' } },
      ]),
      textTurn('256, and the other one failed.'),
    );
    const { events } = await runToEnd(app, api, { query: 'two to the eighth?' });
    const done = events.filter((e) => e.type === 'tool_completed');
    expect(done.map((e) => e.data.is_error)).toEqual([false, true]);
    expect(done[0].data).toMatchObject({ result: { value: 256 } });
    expect(last(events).data.answer).toBe('256, and the other one failed.');
    const results = fake.requests[1].body.messages
      .flatMap((m: { content: unknown }) => (Array.isArray(m.content) ? m.content : []))
      .filter((c: { type: string }) => c.type === 'tool_result');
    expect(results.map((r: any) => [r.tool_use_id, r.is_error ?? false])).toEqual([
      ['toolu_1', false],
      ['toolu_2', true],
    ]);
  });

  it('sends the signed thinking back with the tool result, as Anthropic requires', async () => {
    fake.reset();
    fake.enqueue(
      turn([
        { type: 'reasoning', text: 'I need the calculator.', signature: 'sig-123' },
        {
          type: 'tool-call',
          id: 'toolu_9',
          name: 'calculator',
          arguments: { expression: '3 * 3' },
        },
      ]),
      textTurn('9.'),
    );
    const { events } = await runToEnd(app, api, { query: 'three times three?' });
    expect(streamedText(events, 'agent_thinking')).toBe('I need the calculator.');
    expect(last(events).data.answer).toBe('9.');
    const assistant = fake.requests[1].body.messages.find(
      (m: { role: string }) => m.role === 'assistant',
    );
    expect(assistant.content.map((c: { type: string }) => c.type)).toEqual([
      'thinking',
      'tool_use',
    ]);
    expect(assistant.content[0]).toMatchObject({
      thinking: 'I need the calculator.',
      signature: 'sig-123',
    });
  });

  it('retries a 429, and fails readably on an error mid-stream', async () => {
    fake.reset();
    fake.enqueue({ status: 429 }, textTurn('After the wait.'));
    const retried = await runToEnd(app, api, { query: 'hi' });
    expect(last(retried.events).data.answer).toBe('After the wait.');
    expect(fake.requests).toHaveLength(2);

    fake.enqueue(
      textTurn('This will break', { errorAfterChunks: 5, streamError: { message: 'Overloaded' } }),
    );
    const broken = await runToEnd(app, api, { query: 'hi' });
    expect(last(broken.events)).toMatchObject({
      type: 'agent_error',
      data: { code: 'bad_response', message: expect.stringContaining('Overloaded') },
    });
  });
});

describe('provider configuration', () => {
  it('refuses to start without the key a provider needs', async () => {
    await expect(
      startTestApp({ env: { LLM_PROVIDER: 'openai', LLM_MODEL: 'gpt-4o-mini' } }),
    ).rejects.toThrow('LLM_API_KEY is required when LLM_PROVIDER is openai');
  });
});

describe('approvals with a real provider', () => {
  let fake: FakeOpenAiServer;
  let app: TestApp;
  let api: RestClient;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    ({ fake, app, api, stop } = await startWithFake(startFakeOpenAi, 'olga', (baseURL) => ({
      imports: [ExtensionsModule],
      env: { LLM_PROVIDER: 'openai-compatible', LLM_BASE_URL: baseURL, LLM_MODEL: 'fake' },
    })));
  });
  afterAll(() => stop());

  it('asks again for a call that reuses an approved call id: an id cannot carry an approval', async () => {
    const email = (to: string) => ({
      id: 'call_1',
      name: 'send_email',
      arguments: { to, subject: 'hi' },
    });
    fake.enqueue(
      toolCallTurn([email('team@example.com')]),
      toolCallTurn([email('evil@example.com')]),
      textTurn('Sent one, the other was refused.'),
    );
    const started = (await api.post('/api/agent/run_agent', { query: 'send the emails' })).body;
    const stream = `${app.http}/api/agent/${started.run_id}/stream`;
    const untilApproval = (after: number) =>
      readSse(`${stream}?after=${after}`, {
        token: api.token!,
        onEvent: (e) => e.type === 'approval_required',
      });

    const first = await untilApproval(0);
    const firstAsk = last(first.events);
    expect(firstAsk.data.arguments).toMatchObject({ to: 'team@example.com' });
    await api.post(`/api/agent/${started.run_id}/approvals/${String(firstAsk.data.interrupt_id)}`, {
      decision: 'approve',
    });

    const second = await untilApproval(firstAsk.seq);
    const secondAsk = last(second.events);
    expect(secondAsk.type).toBe('approval_required');
    expect(secondAsk.data).toMatchObject({ arguments: { to: 'evil@example.com' } });
    expect(secondAsk.data.interrupt_id).not.toBe(firstAsk.data.interrupt_id);
    expect(app.app.get(Outbox).sent.map((m) => m.to)).toEqual(['team@example.com']);

    await api.post(
      `/api/agent/${started.run_id}/approvals/${String(secondAsk.data.interrupt_id)}`,
      {
        decision: 'reject',
      },
    );
    const rest = await readSse(`${stream}?after=${secondAsk.seq}`, { token: api.token! });
    expect(last(rest.events).data.answer).toBe('Sent one, the other was refused.');
    expect(app.app.get(Outbox).sent.map((m) => m.to)).toEqual(['team@example.com']);
  });
});

describe('the OpenAI provider', () => {
  let fake: FakeOpenAiServer;
  let app: TestApp;
  let api: RestClient;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    ({ fake, app, api, stop } = await startWithFake(startFakeOpenAi, 'omar', (baseURL) => ({
      env: {
        LLM_PROVIDER: 'openai',
        LLM_BASE_URL: baseURL,
        LLM_MODEL: 'gpt-4o-mini',
        LLM_API_KEY: 'sk-openai-test',
        LLM_TIMEOUT_MS: '400',
      },
    })));
  });
  afterAll(() => stop());

  it('answers through the Chat Completions API', async () => {
    fake.enqueue(textTurn('Hi from OpenAI.', { usage: { inputTokens: 9, outputTokens: 4 } }));
    const { events, status } = await runToEnd(app, api, { query: 'hi' });
    expect(last(events).data.answer).toBe('Hi from OpenAI.');
    expect(status.usage.models).toEqual({ 'gpt-4o-mini': { input_tokens: 9, output_tokens: 4 } });
    expect(fake.requests[0]).toMatchObject({
      path: '/v1/chat/completions',
      headers: { authorization: 'Bearer sk-openai-test' },
    });
  });

  it('ends a model call that outlives LLM_TIMEOUT_MS as a timeout', async () => {
    fake.enqueue(textTurn('one two three four five six seven eight nine ten', { delayMs: 100 }));
    const { events, status } = await runToEnd(app, api, { query: 'slowly, please' });
    expect(last(events).data).toMatchObject({
      code: 'timeout',
      message: expect.stringContaining('LLM_TIMEOUT_MS'),
    });
    expect(status.status).toBe('failed');
  });
});
