import { randomUUID } from 'node:crypto';
import { isTerminalEvent, RunEvent } from '../src/runs/run-event';
import { WS_OPERATIONS } from '../src/ws/ws-operations';
import { ExtensionsModule, Outbox } from './support/extensions.module';
import { RestClient } from './support/rest-client';
import { readSse } from './support/sse-client';
import { startTestApp, TestApp } from './support/test-app';
import { WsClient } from './support/ws-client';

// Everything alice made carries this; nothing bob receives may.
const MARKER = 'ALICE-PRIVATE-7f3a';
const EMAIL = `use send_email {"to": "alice@example.com", "subject": "${MARKER}"}`;

// What a case may point at: alice's ids (the attack) or ids nobody has (the baseline). Client ids
// and idempotency keys are numbered so each case that would claim one for bob claims its own.
interface Refs {
  run: string;
  thread: string;
  interrupt: string;
  // A client id alice gave a run (runs are addressed by it too).
  clientRun: string;
  clientIds: string[];
  keys: string[];
}
// Bob's own, the same in both requests of a case.
interface Own {
  run: string;
  thread: string;
  // The end of the setup: a usage period that later runs of bob's (other cases) stay out of.
  until: string;
}

interface RestRequest {
  method: string;
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
}
type RestCase = (refs: Refs, own: Own) => RestRequest;

// Every route of the OpenAPI document and what bob sends it naming alice's things. The test fails
// for a route that is missing here, so a new route cannot be forgotten.
const REST_CASES: Record<string, RestCase[]> = {
  'GET /health/live': [() => ({ method: 'GET', path: '/health/live' })],
  'GET /health/ready': [() => ({ method: 'GET', path: '/health/ready' })],
  'GET /api/health': [() => ({ method: 'GET', path: '/api/health' })],
  'POST /api/agent/run_agent': [
    (r) => post('/api/agent/run_agent', { query: 'What is 1 + 1?', thread_id: r.thread }),
    (r) => post('/api/agent/run_agent', { query: 'What is 1 + 1?', id: r.clientIds[0] }),
    (r) => post('/api/agent/run_agent', { query: 'What is 1 + 1?' }, r.keys[1]),
  ],
  'POST /api/agent/stream': [
    (r) => post('/api/agent/stream', { query: 'What is 1 + 1?', thread_id: r.thread }),
    (r) => post('/api/agent/stream', { query: 'What is 1 + 1?', id: r.clientIds[1] }),
  ],
  'GET /api/agent/{run_id}/status': [
    (r) => get(`/api/agent/${r.run}/status`),
    (r) => get(`/api/agent/${r.clientRun}/status`),
  ],
  'GET /api/agent/{run_id}/events': [
    (r) => get(`/api/agent/${r.run}/events`),
    (r) => get(`/api/agent/${r.clientRun}/events?after=1&limit=5`),
  ],
  'GET /api/agent/{run_id}/stream': [
    (r) => get(`/api/agent/${r.run}/stream`),
    (r) => get(`/api/agent/${r.clientRun}/stream?after=1`),
  ],
  'GET /api/agent/{run_id}/approvals': [(r) => get(`/api/agent/${r.run}/approvals`)],
  'POST /api/agent/{run_id}/approvals/{interrupt_id}': [
    (r) => post(`/api/agent/${r.run}/approvals/${r.interrupt}`, { decision: 'approve' }),
    // Bob's own paused run, alice's interrupt.
    (r, own) => post(`/api/agent/${own.run}/approvals/${r.interrupt}`, { decision: 'approve' }),
  ],
  'POST /api/agent/{run_id}/cancel': [(r) => post(`/api/agent/${r.run}/cancel`)],
  'GET /api/agent/{run_id}/webhooks': [
    (r) => get(`/api/agent/${r.run}/webhooks`),
    (r) => get(`/api/agent/${r.clientRun}/webhooks`),
  ],
  'GET /api/webhooks/secret': [() => get('/api/webhooks/secret')],
  'POST /api/threads': [(r) => post('/api/threads', { title: 'mine' }, r.keys[0])],
  'GET /api/threads': [() => get('/api/threads?limit=100')],
  'GET /api/threads/{id}': [(r) => get(`/api/threads/${r.thread}`)],
  'PATCH /api/threads/{id}': [
    (r) => ({ method: 'PATCH', path: `/api/threads/${r.thread}`, body: { title: 'bob was here' } }),
  ],
  'DELETE /api/threads/{id}': [(r) => ({ method: 'DELETE', path: `/api/threads/${r.thread}` })],
  'GET /api/threads/{id}/messages': [(r) => get(`/api/threads/${r.thread}/messages`)],
  'POST /api/threads/{id}/messages': [
    (r) => post(`/api/threads/${r.thread}/messages`, { message: 'What is 1 + 1?' }),
    (r, own) =>
      post(`/api/threads/${own.thread}/messages`, { message: 'What is 1 + 1?' }, r.keys[2]),
  ],
  'GET /api/threads/{id}/runs': [(r) => get(`/api/threads/${r.thread}/runs`)],
  'POST /api/stream-tickets': [() => post('/api/stream-tickets')],
  'GET /api/usage': [(_r, own) => get(`/api/usage?from=2000-01-01T00:00:00Z&to=${own.until}`)],
  // AG-UI: alice's thread id names a new thread of bob's, as an id nobody has does.
  'POST /ag-ui/{agent}': [
    (r) =>
      post('/ag-ui/supervisor', {
        threadId: r.thread,
        runId: `ag-ui-${r.keys[0]}`,
        messages: [{ id: 'm1', role: 'user', content: 'What is 1 + 1?' }],
      }),
    (r) =>
      post('/ag-ui/supervisor', {
        threadId: r.thread,
        runId: `ag-ui-${r.keys[1]}`,
        messages: [],
        resume: [{ interruptId: r.interrupt, status: 'resolved' }],
      }),
  ],
  'POST /ag-ui/{agent}/runs/{run_id}/cancel': [
    (r) => post(`/ag-ui/supervisor/runs/${r.run}/cancel`),
    (r) => post(`/ag-ui/supervisor/runs/${r.clientRun}/cancel`),
  ],
};

type WsCase = (refs: Refs, own: Own) => unknown;

// Every frame type of the gateway and the payloads bob sends it naming alice's things.
const WS_CASES: Record<string, WsCase[]> = {
  start_agent: [
    (r) => ({ query: 'What is 1 + 1?', thread_id: r.thread }),
    (r) => ({ query: 'What is 1 + 1?', id: r.clientIds[2] }),
    (r) => ({ query: 'What is 1 + 1?', idempotency_key: r.keys[4] }),
  ],
  user_message: [
    (r) => ({ thread_id: r.thread, message: 'What is 1 + 1?' }),
    (r, own) => ({ thread_id: own.thread, message: 'What is 1 + 1?', idempotency_key: r.keys[5] }),
  ],
  stop_agent: [(r) => ({ run_id: r.run }), (r) => ({ run_id: r.clientRun })],
  subscribe: [(r) => ({ run_id: r.run }), (r) => ({ run_id: r.clientRun, after: 1 })],
  unsubscribe: [(r) => ({ run_id: r.run })],
  approve_tool: [
    (r) => ({ run_id: r.run, interrupt_id: r.interrupt, decision: 'approve' }),
    (r, own) => ({ run_id: own.run, interrupt_id: r.interrupt, decision: 'approve' }),
  ],
  get_approvals: [(r) => ({ run_id: r.run })],
  get_run_status: [(r) => ({ run_id: r.run }), (r) => ({ run_id: r.clientRun })],
  get_run_events: [(r) => ({ run_id: r.run }), (r) => ({ run_id: r.clientRun, after: 1 })],
  get_thread_history: [(r) => ({ thread_id: r.thread })],
  get_thread_runs: [(r) => ({ thread_id: r.thread })],
  create_thread: [(r) => ({ title: 'mine', idempotency_key: r.keys[3] })],
  list_threads: [() => ({ limit: 100 })],
  get_thread: [(r) => ({ thread_id: r.thread })],
  update_thread: [(r) => ({ thread_id: r.thread, title: 'bob was here' })],
  delete_thread: [(r) => ({ thread_id: r.thread })],
  create_stream_ticket: [() => undefined],
  get_webhook_secret: [() => undefined],
  get_webhook_deliveries: [(r) => ({ run_id: r.run }), (r) => ({ run_id: r.clientRun })],
  get_usage: [(_r, own) => ({ from: '2000-01-01T00:00:00Z', to: own.until })],
  ping: [() => undefined],
};

function get(path: string): RestRequest {
  return { method: 'GET', path };
}
function post(path: string, body?: unknown, key?: string): RestRequest {
  return { method: 'POST', path, body, headers: key ? { 'idempotency-key': key } : undefined };
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const TIME = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g;

// One answer with the refs it was asked with taken out, and what differs between any two answers
// anyway (ids the server made, request ids, clocks, tickets).
function normalized(text: string, refs: Refs): string {
  let out = text;
  const named: [string, string][] = [
    ['run', refs.run],
    ['thread', refs.thread],
    ['interrupt', refs.interrupt],
    ['client-run', refs.clientRun],
    ...refs.clientIds.map((id, i): [string, string] => [`client-id-${i}`, id]),
    ...refs.keys.map((key, i): [string, string] => [`key-${i}`, key]),
  ];
  for (const [name, value] of named) out = out.split(value).join(`<${name}>`);
  return (
    out
      .replace(UUID, '<uuid>')
      .replace(TIME, '<time>')
      .replace(/"timestamp":\d+/g, '"timestamp":<ms>')
      // Terminus 12 times every health check (/health/ready's "responseTime").
      .replace(/"responseTime":\d+/g, '"responseTime":<ms>')
      // Ids bob chose for threads of his own (AG-UI's threadId: alice's thread id among them, in
      // the attack, which named a new thread of bob's): his own, whatever text they are.
      .replace(/"client_thread_id":"[^"]*"/g, '"client_thread_id":"<client>"')
      .replace(/"ticket":"[\w-]+"/g, '"ticket":"<ticket>"')
  );
}

function missingRefs(): Refs {
  return {
    run: randomUUID(),
    thread: randomUUID(),
    interrupt: randomUUID(),
    clientRun: `nobody-${randomUUID()}`,
    clientIds: [0, 1, 2].map(() => `nobody-${randomUUID()}`),
    keys: [0, 1, 2, 3, 4, 5].map(() => `nobody-key-${randomUUID()}`),
  };
}

// The ownership matrix: bob, with a valid account, against every id of alice's on every route and
// every frame type. Each answer must be the answer for an id nobody has, byte for byte once the ids
// are taken out, carry nothing of alice's, and leave alice's data as it was.
describe('ownership on every route and frame', () => {
  let app: TestApp;
  let alice: RestClient;
  let bob: RestClient;
  let bobWs: WsClient;
  let outbox: Outbox;
  let refs: Refs;
  let own: Own;
  // Everything bob received, to look for alice's bytes in.
  const received: string[] = [];

  const waitForEnd = async (client: RestClient, runId: string): Promise<RunEvent[]> =>
    (await readSse(`${app.http}/api/agent/${runId}/stream`, { token: client.token })).events;

  // Starts a run as `client` and follows it until it ends or pauses for approval.
  const settle = async (client: RestClient, runId: string): Promise<RunEvent[]> =>
    (
      await readSse(`${app.http}/api/agent/${runId}/stream`, {
        token: client.token,
        onEvent: (e) => e.type === 'approval_required' || isTerminalEvent(e.type),
      })
    ).events;

  const aliceSnapshot = async () => ({
    threads: (await alice.get('/api/threads?limit=100')).body,
    thread: (await alice.get(`/api/threads/${refs.thread}`)).body,
    messages: (await alice.get(`/api/threads/${refs.thread}/messages?limit=100`)).body,
    runs: (await alice.get(`/api/threads/${refs.thread}/runs?limit=100`)).body,
    run: (await alice.get(`/api/agent/${refs.run}/status`)).body,
    events: (await alice.get(`/api/agent/${refs.run}/events`)).body,
    approvals: (await alice.get(`/api/agent/${refs.run}/approvals`)).body,
  });
  let before: Awaited<ReturnType<typeof aliceSnapshot>>;

  beforeAll(async () => {
    app = await startTestApp({ imports: [ExtensionsModule] });
    outbox = app.app.get(Outbox);
    alice = new RestClient(app.http, await app.token('alice'));
    bob = new RestClient(app.http, await app.token('bob'));
    bobWs = await WsClient.connect(app.ws, { token: await app.token('bob') });

    // Alice: a thread with private metadata, a finished run on it under a client id, and a run
    // paused for her approval; every idempotency key used where bob will try it.
    const keys = [0, 1, 2, 3, 4, 5].map((i) => `alice-key-${i}`);
    const clientIds = [0, 1, 2].map((i) => `alice-client-${i}`);
    const thread = await alice.post(
      '/api/threads',
      { title: `${MARKER} title`, metadata: { secret: MARKER } },
      { 'idempotency-key': keys[0] },
    );
    const finished = await alice.post(
      '/api/agent/run_agent',
      { query: `What is 2 + 3? ${MARKER}`, thread_id: thread.body.id, id: 'alice-client-run' },
      { 'idempotency-key': keys[1] },
    );
    await waitForEnd(alice, finished.body.run_id);
    for (const id of clientIds) {
      const started = await alice.post('/api/agent/run_agent', { query: `${MARKER} 1`, id });
      await waitForEnd(alice, started.body.run_id);
    }
    const message = await alice.post(
      `/api/threads/${thread.body.id}/messages`,
      { message: `${MARKER} again` },
      { 'idempotency-key': keys[2] },
    );
    await waitForEnd(alice, message.body.run_id);
    const aliceWs = await WsClient.connect(app.ws, { token: alice.token });
    await aliceWs.request('create_thread', { title: MARKER, idempotency_key: keys[3] });
    const wsRun = await aliceWs.request('start_agent', { query: MARKER, idempotency_key: keys[4] });
    await aliceWs.terminal(wsRun.payload.run_id);
    const wsMessage = await aliceWs.request('user_message', {
      thread_id: thread.body.id,
      message: MARKER,
      idempotency_key: keys[5],
    });
    await aliceWs.terminal(wsMessage.payload.run_id);
    await aliceWs.close();
    const paused = await alice.post('/api/agent/run_agent', {
      query: EMAIL,
      thread_id: thread.body.id,
    });
    const events = await settle(alice, paused.body.run_id);
    const interrupt = events.find((e) => e.type === 'approval_required')!;
    refs = {
      run: paused.body.run_id,
      thread: thread.body.id,
      interrupt: String(interrupt.data.interrupt_id),
      clientRun: 'alice-client-run',
      clientIds,
      keys,
    };

    // Bob: a thread of his own, and a run of his own paused for approval.
    const bobThread = await bob.post('/api/threads', { title: 'bob' });
    const bobRun = await bob.post('/api/agent/run_agent', {
      query: 'use send_email {"to": "bob@example.com", "subject": "hi"}',
      thread_id: bobThread.body.id,
    });
    await settle(bob, bobRun.body.run_id);
    own = { run: bobRun.body.run_id, thread: bobThread.body.id, until: new Date().toISOString() };
    before = await aliceSnapshot();
    expect(JSON.stringify(before)).toContain(MARKER);
    expect(before.run.status).toBe('requires_action');
  });
  afterAll(async () => {
    await bobWs.close();
    await app.close();
  });

  describe('REST', () => {
    it('has a case for every route in the OpenAPI document, and none for a route gone', async () => {
      const spec = (await (await fetch(`${app.http}/docs-json`)).json()) as {
        paths: Record<string, Record<string, unknown>>;
      };
      const routes = Object.entries(spec.paths).flatMap(([path, methods]) =>
        Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
      );
      expect(routes.length).toBeGreaterThan(15);
      expect(Object.keys(REST_CASES).sort()).toEqual(routes.sort());
    });

    const send = async ({ method, path, body, headers }: RestRequest) => {
      const res = await fetch(`${app.http}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${bob.token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      received.push(text);
      return { status: res.status, type: res.headers.get('content-type'), text };
    };

    it.each(
      Object.entries(REST_CASES).flatMap(([route, cases]) =>
        cases.map((make, i) => [route, i, make] as const),
      ),
    )('%s (case %d): as for an id nobody has', async (_route, _i, make) => {
      const missing = missingRefs();
      const attack = await send(make(refs, own));
      const baseline = await send(make(missing, own));
      expect(attack.text).not.toContain(MARKER);
      expect(attack.status).toBeLessThan(500);
      expect({ ...attack, text: normalized(attack.text, refs) }).toEqual({
        ...baseline,
        text: normalized(baseline.text, missing),
      });
    });
  });

  describe('WebSocket', () => {
    it('has a case for every frame type, and none for a type gone', () => {
      expect(Object.keys(WS_CASES).sort()).toEqual(Object.keys(WS_OPERATIONS).sort());
    });

    it.each(
      Object.entries(WS_CASES).flatMap(([type, cases]) =>
        cases.map((make, i) => [type, i, make] as const),
      ),
    )('%s (case %d): as for an id nobody has', async (type, _i, make) => {
      const missing = missingRefs();
      const attack = await bobWs.request(type, make(refs, own));
      const baseline = await bobWs.request(type, make(missing, own));
      const text = (frame: unknown) => JSON.stringify({ ...(frame as object), request_id: 'r' });
      expect(text(attack)).not.toContain(MARKER);
      expect(attack.payload?.code).not.toBe('internal');
      expect(normalized(text(attack), refs)).toEqual(normalized(text(baseline), missing));
    });
  });

  describe('afterwards', () => {
    it('bob received nothing of alice’s on either channel', () => {
      const everything = [...received, ...bobWs.frames.map((f) => JSON.stringify(f))].join('\n');
      expect(everything.length).toBeGreaterThan(10_000);
      expect(everything).not.toContain(MARKER);
      expect(everything).not.toContain('alice@example.com');
    });

    it('alice’s data is as it was, and her approval still waits for her', async () => {
      expect(await aliceSnapshot()).toEqual(before);
      expect(before.approvals).toEqual([
        expect.objectContaining({ interrupt_id: refs.interrupt, status: 'pending' }),
      ]);
      expect(outbox.sent.filter((m) => m.to === 'alice@example.com')).toEqual([]);
      // And it is hers to answer.
      const answer = await alice.post(`/api/agent/${refs.run}/approvals/${refs.interrupt}`, {
        decision: 'reject',
      });
      expect(answer.status).toBe(200);
    });
  });
});
