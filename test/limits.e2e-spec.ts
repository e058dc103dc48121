import { Client } from 'pg';
import { eventually } from './support/eventually';
import { Instance, tokenFor } from './support/instance';
import { RestClient } from './support/rest-client';
import { createDatabase, dropDatabase, startTestApp, TestApp } from './support/test-app';
import { Frame, WsClient } from './support/ws-client';

const STARTS = 6;
const ACTIVE = 3;
const SOCKETS = 2;

// A refusal as every channel gives it: REST a 429 with Retry-After and retry_after_ms, the
// WebSocket an error frame with retry_after_ms.
function expectRefusedRest(res: { status: number; body: any; headers: Headers }): void {
  expect(res.status).toBe(429);
  expect(res.body).toMatchObject({ code: 'rate_limited', retry_after_ms: expect.any(Number) });
  const seconds = Number(res.headers.get('retry-after'));
  expect(seconds).toBeGreaterThanOrEqual(1);
  expect(seconds).toBeLessThanOrEqual(60);
}
function expectRefusedFrame(frame: Frame): void {
  expect(frame).toMatchObject({
    type: 'error',
    payload: { code: 'rate_limited', retry_after_ms: expect.any(Number) },
  });
  expect(frame.payload.retry_after_ms).toBeGreaterThan(0);
}

// Two instances on one database, as behind a load balancer, with the limits `env` sets.
function twoInstances(env: Record<string, string>) {
  const pair = {
    databaseUrl: '',
    a: undefined as unknown as Instance,
    b: undefined as unknown as Instance,
  };
  beforeAll(async () => {
    pair.databaseUrl = await createDatabase();
    [pair.a, pair.b] = await Promise.all([
      Instance.start('a', pair.databaseUrl, env),
      Instance.start('b', pair.databaseUrl, env),
    ]);
  });
  afterAll(async () => {
    await Promise.all([pair.a.stop(), pair.b.stop()]);
    await dropDatabase(pair.databaseUrl);
  });
  return pair;
}

// The limits that are shared hold across instances exactly; the ones that guard an instance are
// per instance, as the README says.
describe('run starts and sockets across two instances', () => {
  const pair = twoInstances({
    RATE_LIMIT_RUN_STARTS: String(STARTS),
    MAX_SOCKETS_PER_USER: String(SOCKETS),
  });

  const runsOf = async (user: string): Promise<number> => {
    const db = new Client({ connectionString: pair.databaseUrl });
    await db.connect();
    try {
      const { rows } = await db.query('SELECT count(*)::int AS n FROM runs WHERE user_id = $1', [
        user,
      ]);
      return rows[0].n as number;
    } finally {
      await db.end();
    }
  };

  it(`lets exactly ${STARTS} run starts a minute through, whichever instance and channel`, async () => {
    const token = tokenFor('starter');
    const { a, b } = pair;
    const restA = new RestClient(a.http, token);
    const restB = new RestClient(b.http, token);
    const thread = (await restA.post('/api/threads', { title: 't' })).body.id as string;
    const [wsA, wsB] = await Promise.all([
      WsClient.connect(a.ws, { token }),
      WsClient.connect(b.ws, { token }),
    ]);
    // Twenty starts at once, every way a run can be started, spread over both instances.
    const attempts = Array.from({ length: 20 }, (_, i) => {
      const query = `What is ${i} + 1?`;
      switch (i % 5) {
        case 0:
          return restA.post('/api/agent/run_agent', { query });
        case 1:
          return restB.post(`/api/threads/${thread}/messages`, { message: query });
        case 2:
          return wsA.request('start_agent', { query });
        case 3:
          return wsB.request('user_message', { thread_id: thread, message: query });
        default:
          return restB.post('/api/agent/run_agent', { query });
      }
    });
    const answers = await Promise.all(attempts);
    const accepted = answers.filter((r) => ('status' in r ? r.status === 202 : r.type === 'ack'));
    expect(accepted).toHaveLength(STARTS);
    for (const r of answers) {
      if (accepted.includes(r)) continue;
      if ('status' in r) expectRefusedRest(r);
      else expectRefusedFrame(r);
    }
    expect(await runsOf('starter')).toBe(STARTS);
    // Another user has a budget of their own.
    const other = await new RestClient(b.http, tokenFor('other')).post('/api/agent/run_agent', {
      query: 'What is 1 + 1?',
    });
    expect(other.status).toBe(202);
    await Promise.all([wsA.close(), wsB.close()]);
  });

  it(`counts open sockets per instance (${SOCKETS} each)`, async () => {
    const { a, b } = pair;
    const token = tokenFor('sockets');
    const onA = await Promise.all([
      WsClient.connect(a.ws, { token }),
      WsClient.connect(a.ws, { token }),
    ]);
    expect(await WsClient.handshake(a.ws, { token })).toBe(429);
    const onB = await WsClient.connect(b.ws, { token });
    expect((await onB.request('ping')).type).toBe('pong');
    await Promise.all([...onA, onB].map((c) => c.close()));
  });
});

describe('active runs across two instances', () => {
  const pair = twoInstances({ MAX_ACTIVE_RUNS: String(ACTIVE) });

  it(`keeps at most ${ACTIVE} runs of a user active at once, across instances`, async () => {
    const token = tokenFor('busy');
    const clients = [new RestClient(pair.a.http, token), new RestClient(pair.b.http, token)];
    const answers = await Promise.all(
      Array.from({ length: ACTIVE * 2 }, (_, i) =>
        clients[i % 2].post('/api/agent/run_agent', { query: 'wait 60 seconds' }),
      ),
    );
    const accepted = answers.filter((r) => r.status === 202);
    expect(accepted).toHaveLength(ACTIVE);
    for (const r of answers.filter((x) => x.status !== 202)) {
      expectRefusedRest(r);
      expect(r.body.message).toMatch(/runs in progress/);
    }
    // One ends: there is room for one more.
    const cancelled = await clients[1].post(`/api/agent/${accepted[0].body.run_id}/cancel`);
    expect(cancelled.body).toMatchObject({ cancelled: true });
    expect(
      (await clients[0].post('/api/agent/run_agent', { query: 'wait 60 seconds' })).status,
    ).toBe(202);
    expectRefusedRest(await clients[1].post('/api/agent/run_agent', { query: 'wait 60 seconds' }));
    for (const r of accepted) await clients[0].post(`/api/agent/${r.body.run_id}/cancel`);
  });
});

// The limits each instance keeps for itself: requests a minute, open SSE streams.
describe('limits of one instance', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { RATE_LIMIT_REQUESTS: '20', MAX_STREAMS_PER_USER: '2' } });
  });
  afterAll(() => app.close());

  it('answers 429 with Retry-After past the requests a minute, for that user only', async () => {
    const api = new RestClient(app.http, await app.token('greedy'));
    const answers = await Promise.all(Array.from({ length: 30 }, () => api.get('/api/threads')));
    expect(answers.filter((r) => r.status === 200)).toHaveLength(20);
    for (const r of answers.filter((x) => x.status !== 200)) expectRefusedRest(r);
    const other = new RestClient(app.http, await app.token('modest'));
    expect((await other.get('/api/threads')).status).toBe(200);
    // The health checks of the load balancer are never limited.
    for (let i = 0; i < 30; i += 1)
      expect((await fetch(`${app.http}/health/live`)).status).toBe(200);
  });

  it('refuses a third open stream of a user with 429', async () => {
    const token = await app.token('watcher');
    const api = new RestClient(app.http, token);
    const started = await api.post('/api/agent/run_agent', { query: 'wait 30 seconds' });
    const url = `${app.http}/api/agent/${started.body.run_id}/stream`;
    const open = (signal: AbortSignal) =>
      fetch(url, { headers: { authorization: `Bearer ${token}` }, signal });
    const controller = new AbortController();
    const streams = [await open(controller.signal), await open(controller.signal)];
    expect(streams.map((s) => s.status)).toEqual([200, 200]);
    const third = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    expect(third.status).toBe(429);
    expect(await third.json()).toMatchObject({ code: 'rate_limited' });
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    controller.abort();
    await api.post(`/api/agent/${started.body.run_id}/cancel`);
  });

  it('lets no more streams open than the cap when they are asked for at the same moment', async () => {
    const token = await app.token('racer');
    const api = new RestClient(app.http, token);
    const started = await api.post('/api/agent/run_agent', { query: 'wait 30 seconds' });
    const url = `${app.http}/api/agent/${started.body.run_id}/stream`;
    const controller = new AbortController();
    const answers = await Promise.all(
      Array.from({ length: 8 }, () =>
        fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal }),
      ),
    );
    expect(answers.filter((r) => r.status === 200)).toHaveLength(2);
    expect(answers.filter((r) => r.status === 429)).toHaveLength(6);
    controller.abort();
    // Closed streams give their places back.
    // (Asked every 100 ms: each asking counts against this app's 20 requests a minute.)
    const again = await eventually(
      async () => {
        const answer = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
        await answer.body?.cancel();
        return answer.status;
      },
      (status) => status === 200,
      3_000,
      100,
    );
    expect(again).toBe(200);
    await api.post(`/api/agent/${started.body.run_id}/cancel`);
  });
});
