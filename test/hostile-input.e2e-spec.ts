import type { Application } from 'express';
import { MAX_BODY_BYTES } from '../src/common/limits';
import { MAX_BODY_DEPTH } from '../src/common/validation';
import { WS_OPERATIONS } from '../src/ws/ws-operations';
import { deepestNesting, nestedArrayText, nestedText } from './support/hostile-arbitraries';
import { RestClient } from './support/rest-client';
import { startTestApp, TestApp } from './support/test-app';
import { WsClient } from './support/ws-client';

const WS_MAX_FRAME_BYTES = 64 * 1024;
const BODY_METHODS = ['post', 'put', 'patch', 'delete'];

// Every route the app serves that takes a body (the REST API, AG-UI, the Agent Protocol, MCP), as
// its router lists them, with a value in each path parameter.
function routesWithBodies(app: TestApp, id: string): { method: string; path: string }[] {
  const express = app.app.getHttpAdapter().getInstance() as Application;
  const { stack } = (express as unknown as { router: { stack: RouteLayer[] } }).router;
  return stack.flatMap((layer) => {
    if (!layer.route) return [];
    const path = layer.route.path.replace(/:\w+/g, id);
    const methods = layer.route.methods._all ? BODY_METHODS : Object.keys(layer.route.methods);
    return methods.filter((m) => BODY_METHODS.includes(m)).map((method) => ({ method, path }));
  });
}
interface RouteLayer {
  route?: { path: string; methods: Record<string, boolean> };
}

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
  const nested = (depth: number): string => nestedText(depth);
  const fieldsOf = (body: any): string[] => (body.errors ?? []).map((e: any) => e.field);

  it('refuses metadata: null with 400 naming metadata', async () => {
    const res = await api.patch(`/api/threads/${threadId}`, { metadata: null });
    expect(res.status).toBe(400);
    expect(fieldsOf(res.body)).toEqual(['metadata']);
  });

  // Within the depth a body may have, each field is screened on its own and named (deeper, the
  // whole body is refused: below).
  it.each([17, 40, MAX_BODY_DEPTH - 1])(
    'refuses metadata %d levels deep, naming it, on both channels',
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
    const res = await api.raw(
      'POST',
      '/api/agent/run_agent',
      `{"query":${nested(MAX_BODY_DEPTH - 1)}}`,
    );
    expect(res.status).toBe(400);
    expect(fieldsOf(res.body)).toEqual(['query']);
  });

  // Nesting deeper than any body may have, up to as deep as the size limits allow: refused whole
  // as it arrives, on every route, before anything walks it (10,000 nested arrays were a stack
  // overflow in the validation pipe, a 500). Then the server answers on as before.
  describe('nesting deeper than any body may', () => {
    const deepestBody = deepestNesting(MAX_BODY_BYTES);
    const refusal = {
      statusCode: 400,
      code: 'validation_failed',
      errors: [
        { field: 'body', messages: [`body is nested deeper than ${MAX_BODY_DEPTH} levels`] },
      ],
    };
    const refusesOn = async (routes: { method: string; path: string }[], text: string) => {
      for (const { method, path } of routes) {
        const res = await api.raw(method.toUpperCase(), path, text);
        expect({ route: `${method} ${path}`, ...res.body }).toMatchObject({
          route: `${method} ${path}`,
          ...refusal,
        });
      }
      expect((await api.get('/api/threads')).status).toBe(200);
      expect((await api.post('/api/threads', { title: 'after' })).status).toBe(201);
    };

    it('goes as deep as the body limit allows', () => {
      for (const text of Object.values(deepestBody)) {
        expect(Buffer.byteLength(text)).toBeLessThanOrEqual(MAX_BODY_BYTES);
        expect(Buffer.byteLength(text)).toBeGreaterThan(MAX_BODY_BYTES - 6);
      }
    });

    it.each([
      ['1,000 arrays', nestedArrayText(1_000)],
      ['1,000 objects', nested(1_000)],
      ['10,000 arrays', nestedArrayText(10_000)],
      ['10,000 objects', nested(10_000)],
      ['arrays under a field', `{"title":"t","metadata":{"a":${nestedArrayText(10_000)}}}`],
    ])('%s: 400 naming it on every route that takes a body', async (_name, text) => {
      const routes = routesWithBodies(app, threadId);
      // The REST API, AG-UI, the Agent Protocol and MCP, each with its own way of reading a body.
      for (const prefix of ['/api/threads', '/api/agent/', '/ag-ui/', '/lg/', '/mcp']) {
        expect(routes.some((r) => r.path.startsWith(prefix))).toBe(true);
      }
      await refusesOn(routes, text);
    });

    // (About a second each for the server to parse: one route of each way of reading a body.)
    it.each(Object.entries(deepestBody))(
      '%s as deep as the body limit allows: 400 naming it',
      async (_name, text) => {
        await refusesOn(
          [
            { method: 'post', path: '/api/threads' },
            { method: 'post', path: '/api/agent/stream' },
            { method: 'post', path: '/ag-ui/supervisor' },
            { method: 'post', path: '/lg/runs/wait' },
            { method: 'post', path: '/mcp' },
          ],
          text,
        );
      },
    );

    it.each([
      ['1,000 arrays', nestedArrayText(1_000)],
      ['1,000 objects', nested(1_000)],
      ['10,000 arrays', nestedArrayText(10_000)],
      ['10,000 objects', nested(10_000)],
      ['arrays as deep as a frame allows', 'arrays'],
      ['objects as deep as a frame allows', 'objects'],
    ])(
      '%s in a payload: an error frame for every frame type, and the socket answers on',
      async (_name, given) => {
        for (const type of Object.keys(WS_OPERATIONS)) {
          const requestId = `nest-${type}`;
          const envelope = `{"type":"${type}","request_id":"${requestId}","payload":}`;
          const deepest = deepestNesting(WS_MAX_FRAME_BYTES - envelope.length);
          const payload = given === 'arrays' || given === 'objects' ? deepest[given] : given;
          const frame = envelope.replace('"payload":', `"payload":${payload}`);
          expect(Buffer.byteLength(frame)).toBeLessThanOrEqual(WS_MAX_FRAME_BYTES);
          ws.sendRaw(frame);
          const answer = await ws.waitFor((f) => f.request_id === requestId);
          expect({ type, answer: answer.type, code: answer.payload.code }).toEqual({
            type,
            answer: 'error',
            code: 'validation_failed',
          });
          // Named as nesting, by the frames that take a payload and by those that take none.
          expect(answer.payload.errors).toEqual([
            {
              field: 'payload',
              messages: [`payload is nested deeper than ${MAX_BODY_DEPTH} levels`],
            },
          ]);
        }
        expect((await ws.request('ping')).type).toBe('pong');
        expect((await ws.request('create_thread', { title: 'after' })).type).toBe('ack');
      },
    );
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
