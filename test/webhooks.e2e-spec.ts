import { HttpAgent } from '@ag-ui/client';
import { Client as LgClient } from '@langchain/langgraph-sdk';
import { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createHmac, randomUUID } from 'node:crypto';
import {
  createServer,
  IncomingHttpHeaders,
  IncomingMessage,
  Server,
  ServerResponse,
} from 'node:http';
import { AddressInfo } from 'node:net';
import { eventually } from './support/eventually';
import { RestClient } from './support/rest-client';
import { startTestApp, TestApp } from './support/test-app';
import { WsClient } from './support/ws-client';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

// A receiver the test starts: records every POST and answers with the next status queued for
// its path (200 when none is).
class Receiver {
  readonly received: Received[] = [];
  private readonly answers = new Map<string, number[]>();
  private waiters: (() => void)[] = [];
  private constructor(
    private readonly server: Server,
    readonly origin: string,
  ) {}

  static async start(): Promise<Receiver> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const receiver = new Receiver(server, `http://127.0.0.1:${port}`);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => receiver.take(req, res));
    return receiver;
  }

  private take(req: IncomingMessage, res: ServerResponse): void {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      this.received.push({ path: req.url ?? '', headers: req.headers, body });
      const status = this.answers.get(req.url ?? '')?.shift() ?? 200;
      res.writeHead(status).end();
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  answer(path: string, ...statuses: number[]): void {
    this.answers.set(path, statuses);
  }

  // Resolves once `count` POSTs reached `path`.
  async posts(path: string, count = 1): Promise<Received[]> {
    for (;;) {
      const at = this.received.filter((r) => r.path === path);
      if (at.length >= count) return at;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe('webhooks (outbound)', () => {
  let app: TestApp;
  let receiver: Receiver;
  let token: string;
  let rest: RestClient;
  let secret: string;

  beforeAll(async () => {
    receiver = await Receiver.start();
    app = await startTestApp({
      env: { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_RETRY_DELAY_SECONDS: '1' },
    });
    token = await app.token('hook-alice');
    rest = new RestClient(app.http, token);
    secret = (await rest.get('/api/webhooks/secret')).body.secret;
  });
  afterAll(async () => {
    await app.close();
    await receiver.close();
  });

  const verify = (received: Received) => {
    const header = String(received.headers['x-netra-signature']);
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header) ?? [];
    const expected = createHmac('sha256', secret).update(`${t}.${received.body}`).digest('hex');
    return { valid: v1 === expected, age: Math.abs(Date.now() / 1000 - Number(t)) };
  };

  it("POSTs the run's final status when it ends, signed with the user's secret, and records the attempt", async () => {
    const started = await rest.post('/api/agent/run_agent', {
      query: 'What is 17 * 23?',
      webhook: `${receiver.origin}/done`,
    });
    expect(started.status).toBe(202);
    const [post] = await receiver.posts('/done');
    expect(verify(post)).toEqual({ valid: true, age: expect.any(Number) });
    expect(verify(post).age).toBeLessThan(60);
    expect(post.headers['x-netra-event']).toBe('run.finished');
    expect(JSON.parse(post.body)).toMatchObject({
      event: 'run.finished',
      run: { run_id: started.body.run_id, status: 'complete', result: '17 * 23 = 391.' },
    });
    const attempts = await eventually(
      async () => (await rest.get(`/api/agent/${started.body.run_id}/webhooks`)).body,
      (body: unknown[]) => body.length === 1,
      5_000,
    );
    expect(attempts).toEqual([
      expect.objectContaining({ attempt: 1, status_code: 200, delivered: true, error: null }),
    ]);
    // Another user's secret signs differently.
    const bob = new RestClient(app.http, await app.token('hook-bob'));
    expect((await bob.get('/api/webhooks/secret')).body.secret).not.toBe(secret);
  });

  it('retries a failed delivery with backoff through the queue, recording every attempt', async () => {
    receiver.answer('/flaky', 500, 503);
    const started = await rest.post('/api/agent/run_agent', {
      query: 'What is 2 + 2?',
      webhook: `${receiver.origin}/flaky`,
    });
    const posts = await receiver.posts('/flaky', 3);
    expect(posts.map((p) => JSON.parse(p.body).run.run_id)).toEqual(
      Array(3).fill(started.body.run_id),
    );
    // One delivery, tried three times: the same delivery id, the attempts numbered.
    expect(new Set(posts.map((p) => p.headers['x-netra-delivery'])).size).toBe(1);
    expect(posts.map((p) => p.headers['x-netra-attempt'])).toEqual(['1', '2', '3']);
    const attempts = await eventually(
      async () => (await rest.get(`/api/agent/${started.body.run_id}/webhooks`)).body,
      (body: { delivered: boolean; status_code: number; attempt: number }[]) =>
        body.some((a) => a.delivered),
      10_000,
    );
    expect(attempts.map((a: { status_code: number }) => a.status_code)).toEqual([500, 503, 200]);
    expect(attempts.map((a: { attempt: number }) => a.attempt)).toEqual([1, 2, 3]);
  });

  it('is taken on every start operation of every channel, and reports cancellations too', async () => {
    // WebSocket: start_agent, cancelled.
    const ws = await WsClient.connect(app.ws, { token });
    const wsStart = await ws.request('start_agent', {
      query: 'wait 30 seconds',
      webhook: `${receiver.origin}/ws`,
    });
    await ws.request('stop_agent', { run_id: wsStart.payload.run_id });
    const [wsPost] = await receiver.posts('/ws');
    expect(JSON.parse(wsPost.body).run).toMatchObject({ status: 'cancelled' });
    // A thread message over REST.
    const thread = await rest.post('/api/threads', { title: 'hooks' });
    await rest.post(`/api/threads/${thread.body.id}/messages`, {
      message: 'What is 1 + 1?',
      webhook: `${receiver.origin}/message`,
    });
    await receiver.posts('/message');
    // AG-UI, in forwardedProps.
    const agent = new HttpAgent({
      url: `${app.http}/ag-ui/supervisor`,
      headers: { authorization: `Bearer ${token}` },
    });
    agent.addMessage({ id: randomUUID(), role: 'user', content: 'What is 3 + 3?' });
    await agent.runAgent({ forwardedProps: { webhook: `${receiver.origin}/ag-ui` } });
    await receiver.posts('/ag-ui');
    // The Agent Protocol's own webhook field.
    const lg = new LgClient({
      apiUrl: `${app.http}/lg`,
      apiKey: null,
      defaultHeaders: { authorization: `Bearer ${token}` },
    });
    await lg.runs.wait(null, 'supervisor', {
      input: { messages: [{ type: 'human', content: 'What is 4 + 4?' }] },
      webhook: `${receiver.origin}/lg`,
    });
    await receiver.posts('/lg');
    // MCP, as a tool argument.
    const mcp = new McpClient({ name: 'hooks', version: '1.0.0' });
    await mcp.connect(
      new StreamableHTTPClientTransport(new URL(`${app.http}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    await mcp.callTool({
      name: 'supervisor',
      arguments: { query: 'What is 5 + 5?', webhook: `${receiver.origin}/mcp` },
    });
    await receiver.posts('/mcp');
    await mcp.close();
    await ws.close();
    for (const path of ['/message', '/ag-ui', '/lg', '/mcp']) {
      const [post] = receiver.received.filter((r) => r.path === path);
      expect(verify(post).valid).toBe(true);
      expect(JSON.parse(post.body).run.status).toBe('complete');
    }
  });

  it('refuses what is not an http(s) URL, naming the field', async () => {
    for (const webhook of ['ftp://example.com/x', 'not a url', 'javascript:alert(1)']) {
      const res = await rest.post('/api/agent/run_agent', { query: 'hi', webhook });
      expect(res.status).toBe(400);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(['webhook']);
    }
  });
});

// With the default configuration, a webhook cannot be pointed at the services beside the app.
describe('webhooks to private addresses, not allowed (the default)', () => {
  let app: TestApp;
  let rest: RestClient;
  beforeAll(async () => {
    // (Said outright: the suite above set it in this process's environment.)
    app = await startTestApp({ env: { WEBHOOK_ALLOW_PRIVATE: 'false' } });
    rest = new RestClient(app.http, await app.token('hook-carol'));
  });
  afterAll(() => app.close());

  it.each([
    'http://localhost:5432/',
    'http://127.0.0.1:6379/',
    'http://[::1]/x',
    'http://169.254.169.254/latest/meta-data',
    'http://10.0.0.1/x',
    'http://192.168.1.10/x',
  ])('refuses %s when the run starts, on REST and the WebSocket', async (webhook) => {
    const res = await rest.post('/api/agent/run_agent', { query: 'What is 1 + 1?', webhook });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { field: 'webhook', messages: [expect.stringContaining('must not point at')] },
    ]);
    const ws = await WsClient.connect(app.ws, { token: rest.token! });
    const frame = await ws.request('start_agent', { query: 'What is 1 + 1?', webhook });
    expect(frame).toMatchObject({ type: 'error', payload: { code: 'validation_failed' } });
    await ws.close();
  });
});
