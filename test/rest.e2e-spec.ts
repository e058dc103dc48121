import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InProcessRunEventBus, RunEventBus } from '../src/runs/run-event.bus';
import { RestClient } from './support/rest-client';
import { until } from './support/until';
import { readSse } from './support/sse-client';
import { startTestApp, TestApp } from './support/test-app';

describe('REST channel', () => {
  let app: TestApp;
  let api: RestClient;

  beforeAll(async () => {
    app = await startTestApp({ env: { SSE_HEARTBEAT_MS: '50' } });
    api = new RestClient(app.http, await app.token('rita'));
  });
  afterAll(async () => {
    await app.close();
  });

  const runToEnd = async (query: string, extra: Record<string, unknown> = {}) => {
    const started = await api.post('/api/agent/run_agent', { query, ...extra });
    expect(started.status).toBe(202);
    const sse = await readSse(`${app.http}/api/agent/${started.body.run_id}/stream`, {
      token: api.token!,
    });
    return { started: started.body, events: sse.events };
  };

  describe('auth', () => {
    it.each([
      ['no token', undefined],
      [
        'a token signed with another secret',
        'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ4In0.bm90LXRoZS1yaWdodC1zaWduYXR1cmU',
      ],
      ['garbage', 'not-a-jwt'],
    ])('refuses %s with 401', async (_label, token) => {
      const res = await new RestClient(app.http, token).get('/api/threads');
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ code: 'unauthorized' });
    });

    it('lets the health check through without a token', async () => {
      const res = await new RestClient(app.http).get('/api/health');
      expect(res.status).toBe(200);
      expect(res.body.info.database.status).toBe('up');
    });
  });

  describe('runs', () => {
    it('starts a run with 202 and creates a thread named after the query', async () => {
      const { started, events } = await runToEnd('What is 12 / 4?');
      expect(started).toMatchObject({ status: 'started', replayed: false });
      expect(events[events.length - 1].data.answer).toBe('12 / 4 = 3.');
      const thread = await api.get(`/api/threads/${started.thread_id}`);
      expect(thread.body).toMatchObject({ id: started.thread_id, title: 'What is 12 / 4?' });
      const status = await api.get(`/api/agent/${started.run_id}/status`);
      expect(status.body).toMatchObject({
        run_id: started.run_id,
        thread_id: started.thread_id,
        status: 'complete',
        result: '12 / 4 = 3.',
      });
      expect(status.body.error).toBeUndefined();
      expect(Date.parse(status.body.updated_at)).toBeGreaterThanOrEqual(
        Date.parse(status.body.created_at),
      );
    });

    it('answers with the clock tool for the time', async () => {
      const { events } = await runToEnd('What time is it in Europe/Paris?');
      const tool = events.find((e) => e.type === 'tool_completed')!;
      expect(tool.data).toMatchObject({ tool: 'clock', arguments: { timezone: 'Europe/Paris' } });
      expect(events[events.length - 1].data.answer).toContain(
        (tool.data.result as { iso: string }).iso,
      );
    });

    it('lists events after N', async () => {
      const { started, events } = await runToEnd('What is 2 + 2?');
      const res = await api.get(`/api/agent/${started.run_id}/events?after=2`);
      expect(res.body).toEqual(events.slice(2));
      const limited = await api.get(`/api/agent/${started.run_id}/events?after=0&limit=2`);
      expect(limited.body.map((e: { seq: number }) => e.seq)).toEqual([1, 2]);
    });

    it('refuses a second run on a busy thread with 409 when asked to (multitask_strategy reject)', async () => {
      const first = await api.post('/api/agent/run_agent', { query: 'wait 30 seconds' });
      const second = await api.post('/api/agent/run_agent', {
        query: 'What is 1 + 1?',
        thread_id: first.body.thread_id,
        multitask_strategy: 'reject',
      });
      expect(second.status).toBe(409);
      expect(second.body.code).toBe('thread_busy');
      await api.post(`/api/agent/${first.body.run_id}/cancel`);
      const third = await api.post(`/api/threads/${first.body.thread_id}/messages`, {
        message: 'What is 1 + 1?',
      });
      expect(third.status).toBe(202);
    });

    it('answers a failing tool with an error result and still completes', async () => {
      const { events } = await runToEnd('What is 1 / 0?');
      const tool = events.find((e) => e.type === 'tool_completed')!;
      expect(tool.data).toMatchObject({
        is_error: true,
        result: { error: expect.stringContaining('division by zero') },
      });
      expect(events[events.length - 1].type).toBe('agent_completed');
    });
  });

  describe('SSE', () => {
    it('sends id = seq and event = type, and resumes after Last-Event-ID', async () => {
      const { started, events } = await runToEnd('What is 3 * 3?');
      const url = `${app.http}/api/agent/${started.run_id}/stream`;
      const full = await readSse(url, { token: api.token! });
      expect(full.ids).toEqual(events.map((e) => String(e.seq)));
      const resumed = await readSse(url, { token: api.token!, lastEventId: '4' });
      expect(resumed.events).toEqual(events.slice(4));
      // Last-Event-ID wins over ?after, since a reconnecting EventSource repeats the URL.
      const both = await readSse(`${url}?after=1`, { token: api.token!, lastEventId: '5' });
      expect(both.events).toEqual(events.slice(5));
    });

    it('POST /api/agent/stream starts a run and streams it in one call', async () => {
      const sse = await readSse(`${app.http}/api/agent/stream`, {
        token: api.token!,
        method: 'POST',
        body: { query: 'What is 10 % 4?' },
      });
      expect(sse.headers?.get('x-run-id')).toBe(sse.events[0].run_id);
      expect(sse.headers?.get('content-type')).toContain('text/event-stream');
      expect(sse.events[sse.events.length - 1].data.answer).toBe('10 % 4 = 2.');
    });

    it('keeps an idle stream alive with comment lines', async () => {
      const started = await api.post('/api/agent/run_agent', { query: 'wait 30 seconds' });
      const controller = new AbortController();
      const res = await fetch(`${app.http}/api/agent/${started.body.run_id}/stream?after=3`, {
        headers: { authorization: `Bearer ${api.token}` },
        signal: controller.signal,
      });
      const reader = res.body!.getReader();
      let text = '';
      while (!text.includes(': keep-alive'))
        text += new TextDecoder().decode((await reader.read()).value);
      controller.abort();
      expect(text).toContain(': keep-alive\n\n');
      await api.post(`/api/agent/${started.body.run_id}/cancel`);
    });

    it('answers 204 to a reconnect after the end, so EventSource stops reconnecting', async () => {
      const { started, events } = await runToEnd('What is 2 * 2?');
      const url = `/api/agent/${started.run_id}/stream`;
      const res = await api.get(url, { 'last-event-id': String(events.length) });
      expect(res.status).toBe(204);
      expect((await api.get(`${url}?after=${events.length - 1}`)).status).toBe(200);
    });

    it('a reconnecting POST stream resumes its run by id and never starts another', async () => {
      const body = { query: 'What is 3 + 3?', id: 'post-stream-1' };
      const first = await readSse(`${app.http}/api/agent/stream`, {
        token: api.token!,
        method: 'POST',
        body,
      });
      const runId = first.events[0].run_id;
      const resumed = await readSse(`${app.http}/api/agent/stream`, {
        token: api.token!,
        method: 'POST',
        body,
        lastEventId: '2',
      });
      expect(resumed.events).toEqual(first.events.slice(2));
      const anonymous = await fetch(`${app.http}/api/agent/stream`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${api.token}`,
          'content-type': 'application/json',
          'last-event-id': '3',
        },
        body: JSON.stringify({ query: 'What is 3 + 3?' }),
      });
      expect(anonymous.status).toBe(204);
      const threads = await api.get(`/api/threads?limit=100`);
      const runs = await api.get(`/api/threads/${first.events[0].thread_id}/runs`);
      expect(runs.body.items.map((r: { run_id: string }) => r.run_id)).toEqual([runId]);
      expect(threads.status).toBe(200);
    });

    it('streams the same run again for a repeated POST /stream with its Idempotency-Key', async () => {
      const key = `stream-${Date.now()}`;
      const body = { query: 'What is 12 + 30?' };
      const first = await readSse(`${app.http}/api/agent/stream`, {
        token: api.token!,
        method: 'POST',
        body,
        headers: { 'idempotency-key': key },
      });
      const again = await readSse(`${app.http}/api/agent/stream`, {
        token: api.token!,
        method: 'POST',
        body,
        headers: { 'idempotency-key': key },
        lastEventId: '2',
      });
      expect(again.headers?.get('x-run-id')).toBe(first.headers?.get('x-run-id'));
      expect(again.events).toEqual(first.events.slice(2));
      expect(first.events.at(-1)?.type).toBe('agent_completed');
    });

    it('lets go of the run when a POST stream client disconnects', async () => {
      const bus = app.app.get<RunEventBus, InProcessRunEventBus>(RunEventBus);
      const controller = new AbortController();
      const res = await fetch(`${app.http}/api/agent/stream`, {
        method: 'POST',
        headers: { authorization: `Bearer ${api.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ query: 'wait 30 seconds' }),
        signal: controller.signal,
      });
      const runId = res.headers.get('x-run-id')!;
      const reader = res.body!.getReader();
      let text = '';
      while (!text.includes('tool_executing'))
        text += new TextDecoder().decode((await reader.read()).value);
      expect(bus.listenerCount(runId)).toBe(2); // the executor and this stream
      controller.abort();
      await until(() => bus.listenerCount(runId) === 1);
      await api.post(`/api/agent/${runId}/cancel`);
    });

    it('rejects a malformed Last-Event-ID with 400 naming it', async () => {
      const { started } = await runToEnd('What is 1 + 2?');
      const res = await api.get(`/api/agent/${started.run_id}/stream`, { 'last-event-id': 'abc' });
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([expect.objectContaining({ field: 'Last-Event-ID' })]);
    });
  });

  describe('threads', () => {
    it('creates, reads, updates, lists newest first and deletes', async () => {
      const owner = new RestClient(app.http, await app.token('thread-owner'));
      const created = [];
      for (const title of ['first', 'second', 'third']) {
        const res = await owner.post('/api/threads', { title, metadata: { n: title } });
        expect(res.status).toBe(201);
        created.push(res.body);
      }
      const page = await owner.get('/api/threads?limit=2');
      expect(page.body).toMatchObject({ total: 3, limit: 2, offset: 0 });
      expect(page.body.items.map((t: { title: string }) => t.title)).toEqual(['third', 'second']);
      const next = await owner.get('/api/threads?limit=2&offset=2');
      expect(next.body.items.map((t: { title: string }) => t.title)).toEqual(['first']);

      const patched = await owner.patch(`/api/threads/${created[0].id}`, {
        title: 'renamed',
        metadata: { a: 1 },
      });
      expect(patched.body).toMatchObject({ title: 'renamed', metadata: { a: 1 } });

      expect((await owner.delete(`/api/threads/${created[0].id}`)).status).toBe(204);
      expect((await owner.get(`/api/threads/${created[0].id}`)).status).toBe(404);
      expect((await owner.get('/api/threads')).body.total).toBe(2);
    });

    it('deleting a thread cancels its run in progress', async () => {
      const started = await api.post('/api/agent/run_agent', { query: 'wait 30 seconds' });
      expect((await api.delete(`/api/threads/${started.body.thread_id}`)).status).toBe(204);
      const status = await api.get(`/api/agent/${started.body.run_id}/status`);
      expect(status.body.status).toBe('cancelled');
    });

    it('paginates messages oldest first and lists runs newest first', async () => {
      const { started } = await runToEnd('What is 1 + 1?');
      const second = await api.post(`/api/threads/${started.thread_id}/messages`, {
        message: 'What is 2 + 2?',
      });
      await readSse(`${app.http}/api/agent/${second.body.run_id}/stream`, { token: api.token! });
      const messages = await api.get(`/api/threads/${started.thread_id}/messages?limit=3`);
      expect(messages.body.total).toBe(4);
      expect(messages.body.items.map((m: { content: string }) => m.content)).toEqual([
        'What is 1 + 1?',
        '1 + 1 = 2.',
        'What is 2 + 2?',
      ]);
      const runs = await api.get(`/api/threads/${started.thread_id}/runs`);
      expect(runs.body.items.map((r: { run_id: string }) => r.run_id)).toEqual([
        second.body.run_id,
        started.run_id,
      ]);
    });
  });

  describe('bad input', () => {
    it.each([
      ['/api/threads?limit=0', 'limit'],
      ['/api/threads?limit=abc', 'limit'],
      ['/api/threads?offset=-1', 'offset'],
      ['/api/threads?offset=100000000000000000000', 'offset'],
      ['/api/agent/00000000-0000-4000-8000-000000000000/events?after=99999999999', 'after'],
    ])('GET %s is 400 naming %s', async (path, field) => {
      const res = await api.get(path);
      expect(res.status).toBe(400);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
    });

    it('rejects a body over 1 MiB with 413, not a 500', async () => {
      const res = await api.post('/api/agent/run_agent', { query: 'x'.repeat(1024 * 1024 + 1) });
      expect(res.status).toBe(413);
      expect(res.body).toMatchObject({
        code: 'payload_too_large',
        message: 'request entity too large',
        request_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      });
    });

    it('rejects a body that is not JSON with 400 and no stack trace', async () => {
      const res = await api.raw('POST', '/api/agent/run_agent', '{"query": ');
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('bad_request');
      expect(JSON.stringify(res.body)).not.toMatch(/at .*\.js/);
    });

    it.each([
      ['query too long', { query: 'x'.repeat(20_001) }, 'query'],
      ['id with spaces', { query: 'hi', id: 'a b' }, 'id'],
      ['metadata not an object', undefined, 'metadata'],
    ])('rejects %s', async (_label, body, field) => {
      const res = body
        ? await api.post('/api/agent/run_agent', body)
        : await api.post('/api/threads', { metadata: 'nope' });
      expect(res.status).toBe(400);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
    });

    it('answers unknown routes and ids with 404', async () => {
      expect((await api.get('/api/nothing-here')).status).toBe(404);
      expect((await api.get('/api/threads/not-a-uuid')).status).toBe(404);
      expect(
        (await api.patch('/api/threads/00000000-0000-4000-8000-000000000000', { title: 'x' }))
          .status,
      ).toBe(404);
    });
  });

  describe('OpenAPI', () => {
    it('serves the spec with every route and the DTO examples, and Swagger UI', async () => {
      const spec = await new RestClient(app.http).get('/docs-json');
      expect(spec.status).toBe(200);
      const paths = Object.keys(spec.body.paths);
      expect(paths).toEqual(
        expect.arrayContaining([
          '/api/agent/run_agent',
          '/api/agent/stream',
          '/api/agent/{run_id}/status',
          '/api/agent/{run_id}/events',
          '/api/agent/{run_id}/stream',
          '/api/agent/{run_id}/cancel',
          '/api/threads',
          '/api/threads/{id}',
          '/api/threads/{id}/messages',
          '/api/threads/{id}/runs',
        ]),
      );
      expect(spec.body.components.schemas.StartAgentDto.properties.query.example).toBeDefined();
      expect(spec.body.components.securitySchemes.bearer).toMatchObject({ scheme: 'bearer' });
      // The committed spec is what integrators read: it must be exactly what the app serves.
      const committed = JSON.parse(readFileSync(join(__dirname, '..', 'openapi.json'), 'utf8'));
      expect({ drift: spec.body, hint: 'run `npm run openapi` and commit openapi.json' }).toEqual({
        drift: committed,
        hint: 'run `npm run openapi` and commit openapi.json',
      });
      const ui = await fetch(`${app.http}/docs`);
      expect(ui.status).toBe(200);
      expect(await ui.text()).toContain('swagger-ui');
    });
  });
});
