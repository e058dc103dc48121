import { Client } from 'pg';
import { RunEvent } from '../src/runs/run-event';
import { RestClient } from './support/rest-client';
import { readSse } from './support/sse-client';
import { startTestApp, TestApp } from './support/test-app';
import { WsClient } from './support/ws-client';

// Token usage and its cost: carried by every run's terminal event, and summed per run, thread, model
// and user by GET /api/usage and the get_usage frame, with the prices of LLM_PRICES.
describe('usage and cost', () => {
  let app: TestApp;
  let ann: RestClient;
  const PRICES = { offline: { input: 2, output: 4 } };
  const cost = (u: { input_tokens: number; output_tokens: number }) =>
    (u.input_tokens * 2 + u.output_tokens * 4) / 1_000_000;

  beforeAll(async () => {
    app = await startTestApp({ env: { LLM_PRICES: JSON.stringify(PRICES) } });
    ann = new RestClient(app.http, await app.token('ann'));
  });
  afterAll(() => app.close());

  const run = async (query: string, threadId?: string, as = ann) => {
    const started = await as.post('/api/agent/run_agent', { query, thread_id: threadId });
    const { events } = await readSse(`${app.http}/api/agent/${started.body.run_id}/stream`, {
      token: as.token,
    });
    const status = (await as.get(`/api/agent/${started.body.run_id}/status`)).body;
    return { started: started.body, events: events, status };
  };

  it('puts the run usage on its terminal event, and prices it per run, thread, model and user', async () => {
    const from = new Date(Date.now() - 1000).toISOString();
    const first = await run('What is 17 * 23?');
    const second = await run('What is 2 + 2?', first.started.thread_id);
    const third = await run('What time is it?');
    const to = new Date(Date.now() + 1000).toISOString();

    for (const { events, status } of [first, second, third]) {
      const terminal = events.at(-1)!;
      expect(terminal.type).toBe('agent_completed');
      expect(terminal.data.usage).toEqual(status.usage);
      expect(status.usage.input_tokens).toBeGreaterThan(0);
    }

    const usage = await ann.get(`/api/usage?from=${from}&to=${to}`);
    expect(usage.status).toBe(200);
    const all = [first, second, third].map((r) => r.status.usage);
    const sum = (key: 'input_tokens' | 'output_tokens') =>
      all.reduce((n, u) => n + (u[key] as number), 0);
    expect(usage.body).toMatchObject({
      from,
      to,
      input_tokens: sum('input_tokens'),
      output_tokens: sum('output_tokens'),
      runs_count: 3,
      runs_truncated: false,
    });
    expect(usage.body.cost_usd).toBeCloseTo(
      all.map(cost).reduce((a, b) => a + b),
      12,
    );
    expect(usage.body.models).toEqual([
      {
        model: 'offline',
        input_tokens: sum('input_tokens'),
        output_tokens: sum('output_tokens'),
        cost_usd: usage.body.cost_usd,
      },
    ]);
    const shared = usage.body.threads.find(
      (t: { thread_id: string }) => t.thread_id === first.started.thread_id,
    );
    expect(shared).toMatchObject({
      runs: 2,
      input_tokens: all[0].input_tokens + all[1].input_tokens,
    });
    expect(usage.body.threads).toHaveLength(2);
    expect(usage.body.runs.map((r: { run_id: string }) => r.run_id)).toEqual([
      third.started.run_id,
      second.started.run_id,
      first.started.run_id,
    ]);
    expect(usage.body.runs[2]).toEqual({
      run_id: first.started.run_id,
      thread_id: first.started.thread_id,
      created_at: first.status.created_at,
      input_tokens: all[0].input_tokens,
      output_tokens: all[0].output_tokens,
      cost_usd: cost(all[0]),
    });

    // The WebSocket twin answers the same, through the same service call.
    const ws = await WsClient.connect(app.ws, { token: ann.token });
    const frame = await ws.request('get_usage', { from, to });
    await ws.close();
    expect(frame.type).toBe('ack');
    expect(frame.payload).toEqual(usage.body);

    // Another user sees none of it.
    const bob = new RestClient(app.http, await app.token('bob'));
    expect((await bob.get(`/api/usage?from=${from}&to=${to}`)).body).toMatchObject({
      input_tokens: 0,
      output_tokens: 0,
      cost_usd: 0,
      runs_count: 0,
      models: [],
      threads: [],
      runs: [],
    });
  });

  it('puts usage on a cancelled run too', async () => {
    const started = await ann.post('/api/agent/run_agent', { query: 'wait 30 seconds' });
    const reading = readSse(`${app.http}/api/agent/${started.body.run_id}/stream`, {
      token: ann.token,
      onEvent: (e) => e.type === 'tool_executing',
    });
    await reading;
    await ann.post(`/api/agent/${started.body.run_id}/cancel`);
    const events = (await ann.get(`/api/agent/${started.body.run_id}/events`)).body as RunEvent[];
    const cancelled = events.at(-1)!;
    expect(cancelled.type).toBe('agent_cancelled');
    expect(cancelled.data.usage).toEqual(
      (await ann.get(`/api/agent/${started.body.run_id}/status`)).body.usage,
    );
  });

  it('counts every run of a thread whatever models it used, and has no cost for an unpriced model', async () => {
    const cara = new RestClient(app.http, await app.token('cara'));
    const from = new Date(Date.now() - 1000).toISOString();
    const priced = await run('What is 3 * 3?', undefined, cara);
    const other = await run('What is 4 * 4?', priced.started.thread_id, cara);
    // A model without a price in LLM_PRICES (written where a real provider's usage would be).
    const db = new Client({ connectionString: app.databaseUrl });
    await db.connect();
    await db.query(`UPDATE runs SET usage = $2 WHERE id = $1`, [
      other.started.run_id,
      { 'unpriced-model': { input_tokens: 100, output_tokens: 10 } },
    ]);
    await db.end();
    // And a run cancelled before it used any token.
    const idle = await cara.post('/api/threads', { title: 'idle' });
    const queued = await cara.post(`/api/threads/${idle.body.id}/messages`, {
      message: 'wait 5 seconds',
    });
    await cara.post(`/api/agent/${queued.body.run_id}/cancel`);
    const to = new Date(Date.now() + 1000).toISOString();

    const usage = (await cara.get(`/api/usage?from=${from}&to=${to}`)).body;
    expect(usage.runs_count).toBe(3);
    expect(usage.cost_usd).toBeNull();
    const thread = usage.threads.find(
      (t: { thread_id: string }) => t.thread_id === priced.started.thread_id,
    );
    expect(thread).toMatchObject({ runs: 2, cost_usd: null });
    expect(usage.models.map((m: { model: string }) => m.model).sort()).toEqual([
      'offline',
      'unpriced-model',
    ]);
    const byRun = Object.fromEntries(usage.runs.map((r: { run_id: string }) => [r.run_id, r]));
    expect(byRun[priced.started.run_id].cost_usd).toBe(cost(priced.status.usage));
    expect(byRun[other.started.run_id]).toMatchObject({ input_tokens: 100, cost_usd: null });
    expect(usage.runs).toHaveLength(3);
    expect(usage.threads.find((t: { thread_id: string }) => t.thread_id === idle.body.id)).toEqual(
      expect.objectContaining({ runs: 1 }),
    );
  });

  it.each([
    ['from=yesterday', 'from'],
    ['to=2026-13-01T00:00:00Z', 'to'],
    ['from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z', 'from'],
  ])('refuses %s naming %s', async (query, field) => {
    const answer = await ann.get(`/api/usage?${query}`);
    expect(answer.status).toBe(400);
    expect(answer.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
  });
});
