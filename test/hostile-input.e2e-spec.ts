import { RestClient } from './support/rest-client';
import { startTestApp, TestApp } from './support/test-app';
import { WsClient } from './support/ws-client';

// Bodies written to break the service: nulls where objects belong, nesting deeper than any client
// needs, keys named after Object.prototype. Each is a 400 naming the field, on both channels, and
// user data is stored exactly as sent.
describe('hostile input', () => {
  let app: TestApp;
  let api: RestClient;
  let ws: WsClient;
  let threadId: string;

  beforeAll(async () => {
    app = await startTestApp();
    const token = await app.token('hugo');
    api = new RestClient(app.http, token);
    ws = await WsClient.connect(app.ws, { token });
    threadId = (await api.post('/api/threads', { title: 't' })).body.id;
  });
  afterAll(async () => {
    await ws.close();
    await app.close();
  });

  // Written as text: nothing in this process has to walk it.
  const nested = (depth: number): string => `${'{"a":'.repeat(depth)}true${'}'.repeat(depth)}`;
  const fieldsOf = (body: any): string[] => (body.errors ?? []).map((e: any) => e.field);

  it('refuses metadata: null with 400 naming metadata', async () => {
    const res = await api.patch(`/api/threads/${threadId}`, { metadata: null });
    expect(res.status).toBe(400);
    expect(fieldsOf(res.body)).toEqual(['metadata']);
  });

  it.each([10_000, 3_000, 100])(
    'refuses metadata %d levels deep, on both channels',
    async (depth) => {
      const body = `{"title":"deep","metadata":${nested(depth)}}`;
      const res = await api.raw('POST', '/api/threads', body);
      expect(res.status).toBe(400);
      expect(fieldsOf(res.body)).toEqual(['metadata']);
      expect(res.body.errors[0].messages[0]).toMatch(/nested deeper than 16 levels/);
      ws.sendRaw(`{"type":"create_thread","request_id":"deep-${depth}","payload":${body}}`);
      const frame = await ws.waitFor((f) => f.request_id === `deep-${depth}`);
      expect(frame).toMatchObject({ type: 'error', payload: { code: 'validation_failed' } });
      expect(fieldsOf(frame.payload)).toEqual(['metadata']);
    },
  );

  it('refuses a deep value in any field, not only the free ones', async () => {
    const res = await api.raw('POST', '/api/agent/run_agent', `{"query":${nested(5_000)}}`);
    expect(res.status).toBe(400);
    expect(fieldsOf(res.body)).toEqual(['query']);
  });

  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty'])(
    'refuses an unknown key named %s, in a body, a query and a frame',
    async (key) => {
      const body = `{"title":"t","${key}":{"a":1}}`;
      const res = await api.raw('POST', '/api/threads', body);
      expect(res.status).toBe(400);
      expect(fieldsOf(res.body)).toEqual([key]);
      const query = await api.get(`/api/threads?${key}=1`);
      expect(query.status).toBe(400);
      expect(fieldsOf(query.body)).toEqual([key]);
      ws.sendRaw(`{"type":"create_thread","request_id":"k-${key}","payload":${body}}`);
      const frame = await ws.waitFor((f) => f.request_id === `k-${key}`);
      expect(frame.type).toBe('error');
      expect(fieldsOf(frame.payload)).toEqual([key]);
    },
  );

  it('stores metadata as sent, whatever its keys are named', async () => {
    const metadata = JSON.parse('{"constructor":"x","toString":1,"__proto__":{"a":1},"keep":2}');
    const created = await api.raw('POST', '/api/threads', JSON.stringify({ title: 't', metadata }));
    expect(created.status).toBe(201);
    const fetched = await api.get(`/api/threads/${created.body.id}`);
    // Own keys, values as sent (PostgreSQL's jsonb keeps its own key order).
    expect(Object.entries(fetched.body.metadata).sort()).toEqual(Object.entries(metadata).sort());
    const frame = await ws.request('create_thread', { title: 't', metadata: { constructor: 1 } });
    expect(frame.type).toBe('ack');
    expect(frame.payload.metadata).toEqual(JSON.parse('{"constructor":1}'));
  });

  // Found by the property tests (test/properties.e2e-spec.ts), kept here as plain cases.
  describe('what the property tests found', () => {
    it('a NUL in a path parameter, a query value or a body field is a 400 naming it', async () => {
      const path = await api.get('/api/agent/%00/status');
      expect(path.status).toBe(400);
      expect(fieldsOf(path.body)).toEqual(['run_id']);
      const query = await api.get('/api/agent/x/events?after=%00');
      expect(query.status).toBe(400);
      expect(fieldsOf(query.body)).toEqual(['after']);
      const body = await api.post('/api/threads', { title: 'a\u0000b' });
      expect(body.status).toBe(400);
      expect(fieldsOf(body.body)).toEqual(['title']);
      const lone = await api.raw('POST', '/api/threads', '{"metadata":{"k":"\\ud800"}}');
      expect(lone.status).toBe(400);
      expect(fieldsOf(lone.body)).toEqual(['metadata']);
    });

    it('null for an optional field is a 400 on both channels, not an internal error', async () => {
      const res = await api.post('/api/threads', { title: null });
      expect(res.status).toBe(400);
      expect(fieldsOf(res.body)).toEqual(['title']);
      const frame = await ws.request('create_thread', { idempotency_key: null, metadata: {} });
      expect(frame).toMatchObject({ type: 'error', payload: { code: 'validation_failed' } });
      expect(fieldsOf(frame.payload)).toEqual(['idempotency_key']);
    });

    it('an object where a number belongs is a 400, even one whose toString is not a function', async () => {
      const frame = await ws.request('get_run_events', { run_id: 'x', limit: { toString: 0 } });
      expect(frame).toMatchObject({ type: 'error', payload: { code: 'validation_failed' } });
      expect(fieldsOf(frame.payload)).toEqual(['limit']);
    });

    it('a path that does not decode is a 400 in the error shape', async () => {
      const res = await api.get('/api/threads/%zz');
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'bad_request', request_id: expect.any(String) });
    });
  });
});
