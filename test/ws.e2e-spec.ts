import { RestClient } from './support/rest-client';
import { readSse } from './support/sse-client';
import { startTestApp, TestApp } from './support/test-app';
import { WsClient } from './support/ws-client';

describe('WebSocket channel', () => {
  let app: TestApp;
  let token: string;
  let ws: WsClient;

  beforeAll(async () => {
    app = await startTestApp();
    token = await app.token('wendy');
    ws = await WsClient.connect(app.ws, { token });
  });
  afterAll(async () => {
    await ws.close();
    await app.close();
  });

  describe('connection', () => {
    it('refuses a connection without a valid token with 401, before the upgrade', async () => {
      for (const bad of [undefined, 'not-a-jwt']) {
        expect(await WsClient.handshake(app.ws, { token: bad })).toBe(401);
      }
    });

    it('accepts the token in ?token= for browsers', async () => {
      const client = await WsClient.connect(app.ws, { token, query: true });
      expect((await client.request('ping')).type).toBe('pong');
      await client.close();
    });

    it('answers ping with pong carrying the request id', async () => {
      const pong = await ws.request('ping');
      expect(pong).toMatchObject({ type: 'pong', request_id: expect.any(String) });
    });
  });

  describe('bad frames keep the socket open and usable', () => {
    it.each([
      ['not JSON', '{"type": ', 'bad_frame'],
      ['a JSON array', '[1,2]', 'bad_frame'],
      ['no type', '{"payload": {}}', 'validation_failed'],
      ['an unknown type', '{"type": "launch_rockets", "request_id": "x1"}', 'unknown_type'],
      ['an unknown top-level field', '{"type": "ping", "extra": 1}', 'validation_failed'],
      ['a prototype key as type', '{"type": "constructor"}', 'unknown_type'],
      ['__proto__ as type', '{"type": "__proto__"}', 'unknown_type'],
      [
        'a huge after',
        '{"type": "get_run_events", "payload": {"run_id": "x", "after": 99999999999}}',
        'validation_failed',
      ],
    ])('%s gets an error frame', async (_label, raw, code) => {
      const before = ws.frames.length;
      ws.sendRaw(raw);
      const error = await ws.waitFor((f) => f.type === 'error' && ws.frames.indexOf(f) >= before);
      expect(error.payload.code).toBe(code);
      expect(JSON.stringify(error)).not.toMatch(/at .*\.js/);
      expect((await ws.request('ping')).type).toBe('pong');
    });

    it('a frame over WS_MAX_FRAME_BYTES closes only that socket, with 1009', async () => {
      const client = await WsClient.connect(app.ws, { token });
      client.sendRaw(JSON.stringify({ type: 'ping', payload: { pad: 'x'.repeat(1024 * 1024) } }));
      expect((await client.closed).code).toBe(1009);
      expect((await ws.request('ping')).type).toBe('pong');
    });

    it('a binary frame gets an error frame', async () => {
      const before = ws.frames.length;
      ws.sendRaw(Buffer.from([1, 2, 3]));
      const error = await ws.waitFor((f) => f.type === 'error' && ws.frames.indexOf(f) >= before);
      expect(error.payload.code).toBe('bad_frame');
    });

    it('a bad payload names the field and echoes the request id', async () => {
      const error = await ws.request('start_agent', { query: '', extra: 1 });
      expect(error).toMatchObject({ type: 'error', payload: { code: 'validation_failed' } });
      expect(error.payload.errors.map((e: { field: string }) => e.field).sort()).toEqual([
        'extra',
        'query',
      ]);
      const notObject = await ws.request('subscribe', 'run-1');
      expect(notObject.payload.errors[0].field).toBe('payload');
    });
  });

  describe('runs', () => {
    it('accepts the upper-case aliases of the design document', async () => {
      const ack = await ws.request('START_AGENT', { query: 'What is 8 * 8?' });
      expect(ack).toMatchObject({ type: 'ack', payload: { status: 'started' } });
      const events = await ws.terminal(ack.payload.run_id);
      expect(events[events.length - 1].data.answer).toBe('8 * 8 = 64.');
    });

    it('pushes every event of a run it started, acked first', async () => {
      const ack = await ws.request('start_agent', { query: 'What is 7 + 5?' });
      const ackIndex = ws.frames.indexOf(ack);
      const events = await ws.terminal(ack.payload.run_id);
      const firstUpdate = ws.frames.findIndex(
        (f) => f.type === 'agent_update' && f.payload.run_id === ack.payload.run_id,
      );
      expect(firstUpdate).toBeGreaterThan(ackIndex);
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    });

    it('subscribe with after gets the missed events, then live ones, with no gap or duplicate', async () => {
      const rest = new RestClient(app.http, token);
      const started = await rest.post('/api/agent/run_agent', {
        query: 'wait 300 ms then what is 6 / 3?',
      });
      const runId = started.body.run_id;
      // Another client has seen events up to 2; this socket picks up from there.
      const watcher = await WsClient.connect(app.ws, { token });
      const ack = await watcher.request('subscribe', { run_id: runId, after: 2 });
      expect(ack.payload).toEqual({ run_id: runId, after: 2, ended: false });
      const events = await watcher.terminal(runId);
      const all = (await rest.get(`/api/agent/${runId}/events`)).body;
      expect(events).toEqual(all.slice(2));
      await watcher.close();
    });

    it('follows a run started over REST, and REST follows a run started over WebSocket', async () => {
      const rest = new RestClient(app.http, token);
      const viaRest = await rest.post('/api/agent/run_agent', { query: 'What is 11 * 11?' });
      await ws.request('subscribe', { run_id: viaRest.body.run_id });
      const overWs = await ws.terminal(viaRest.body.run_id);
      expect(overWs).toEqual((await rest.get(`/api/agent/${viaRest.body.run_id}/events`)).body);

      const viaWs = await ws.request('start_agent', { query: 'What is 12 * 12?' });
      const overSse = await readSse(`${app.http}/api/agent/${viaWs.payload.run_id}/stream`, {
        token,
      });
      expect(overSse.events).toEqual(await ws.terminal(viaWs.payload.run_id));
    });

    it('subscribing after the end of a finished run says it ended and sends nothing', async () => {
      const ack = await ws.request('start_agent', { query: 'What is 1 + 1?' });
      const events = await ws.terminal(ack.payload.run_id);
      const client = await WsClient.connect(app.ws, { token });
      const sub = await client.request('subscribe', {
        run_id: ack.payload.run_id,
        after: events.length,
      });
      expect(sub.payload).toEqual({
        run_id: ack.payload.run_id,
        after: events.length,
        ended: true,
      });
      await client.request('ping');
      expect(client.updates(ack.payload.run_id)).toEqual([]);
      await client.close();
    });

    it('unsubscribe stops the pushes for that run', async () => {
      const client = await WsClient.connect(app.ws, { token });
      const ack = await client.request('start_agent', { query: 'wait 30 seconds' });
      const runId = ack.payload.run_id;
      await client.waitFor((f) => f.type === 'agent_update' && f.payload.type === 'tool_executing');
      expect((await client.request('unsubscribe', { run_id: runId })).payload).toEqual({
        run_id: runId,
        unsubscribed: true,
      });
      const seen = client.updates(runId).length;
      const stop = await client.request('stop_agent', { run_id: runId });
      expect(stop.payload).toMatchObject({ cancelled: true });
      // Round trip after the cancel: had the subscription been alive, agent_cancelled would be in.
      await client.request('ping');
      expect(client.updates(runId)).toHaveLength(seen);
      await client.close();
    });

    it('manages threads over the socket like REST does', async () => {
      const created = await ws.request('create_thread', { title: 'over ws', metadata: { k: 'v' } });
      const id = created.payload.id;
      expect(
        (await ws.request('update_thread', { thread_id: id, title: 'renamed' })).payload.title,
      ).toBe('renamed');
      expect((await ws.request('get_thread', { thread_id: id })).payload).toMatchObject({
        title: 'renamed',
        metadata: { k: 'v' },
      });
      const started = await ws.request('user_message', {
        thread_id: id,
        message: 'What is 2 * 21?',
      });
      await ws.terminal(started.payload.run_id);
      const runs = await ws.request('get_thread_runs', { thread_id: id });
      expect(runs.payload.items).toEqual([
        expect.objectContaining({ run_id: started.payload.run_id, result: '2 * 21 = 42.' }),
      ]);
      expect((await ws.request('delete_thread', { thread_id: id })).payload).toEqual({
        thread_id: id,
        deleted: true,
      });
      expect((await ws.request('get_thread', { thread_id: id })).payload.code).toBe('not_found');
    });

    it('a socket that closes mid-run leaves the run going, and nothing breaks for others', async () => {
      const client = await WsClient.connect(app.ws, { token });
      const ack = await client.request('start_agent', { query: 'wait 100 ms' });
      await client.waitFor((f) => f.type === 'agent_update' && f.payload.type === 'tool_executing');
      await client.close();
      const sse = await readSse(`${app.http}/api/agent/${ack.payload.run_id}/stream`, { token });
      expect(sse.events[sse.events.length - 1].type).toBe('agent_completed');
    });
  });
});
