import { Client } from 'pg';
import { RestClient } from './support/rest-client';
import { readSse } from './support/sse-client';
import { hs256, tokenFor } from './support/instance';
import { startTestApp, TestApp } from './support/test-app';
import { WsClient } from './support/ws-client';

const ISSUER = 'https://issuer.test';
const AUDIENCE = 'netra';
const CHAT = 'https://chat.example.test';
const now = () => Math.floor(Date.now() / 1000);
const valid = (user: string, claims: Record<string, unknown> = {}) =>
  tokenFor(user, { iss: ISSUER, aud: AUDIENCE, ...claims });
const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

// Every way a token can be wrong. Each is refused on every channel before anything is served: the
// WebSocket before the upgrade (an HTTP 401, no socket), REST and SSE with a 401.
const BAD_TOKENS: [string, () => string | undefined][] = [
  ['no token', () => undefined],
  ['garbage', () => 'not-a-jwt'],
  [
    'a bad signature',
    () =>
      hs256(
        { sub: 'ann', iss: ISSUER, aud: AUDIENCE, iat: now(), exp: now() + 600 },
        'another-secret-entirely-0123456789',
      ),
  ],
  [
    'a tampered payload',
    () => {
      const [header, , signature] = valid('ann').split('.');
      return `${header}.${part({ sub: 'root', iss: ISSUER, aud: AUDIENCE, exp: now() + 600 })}.${signature}`;
    },
  ],
  ['an expired token', () => valid('ann', { iat: now() - 120, exp: now() - 60 })],
  [
    'alg none',
    () =>
      `${part({ alg: 'none', typ: 'JWT' })}.${part({ sub: 'ann', iss: ISSUER, aud: AUDIENCE, exp: now() + 600 })}.`,
  ],
  ['a token without exp', () => valid('ann', { exp: undefined })],
  ['a token that lives longer than allowed', () => valid('ann', { exp: now() + 3 * 86_400 })],
  ['a wrong iss', () => valid('ann', { iss: 'https://evil.test' })],
  ['a wrong aud', () => valid('ann', { aud: 'someone-else' })],
  ['no iss and aud', () => tokenFor('ann')],
  ['no sub', () => valid('ann', { sub: undefined })],
];

describe('authentication and origins', () => {
  let app: TestApp;
  let ann: RestClient;

  beforeAll(async () => {
    app = await startTestApp({
      env: { JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE, ALLOWED_ORIGINS: `${CHAT}` },
    });
    ann = new RestClient(app.http, valid('ann'));
  });
  afterAll(() => app.close());

  describe.each(BAD_TOKENS)('%s', (_label, make) => {
    it('is refused before the upgrade, in the header and in ?token=', async () => {
      const token = make();
      expect(await WsClient.handshake(app.ws, { token })).toBe(401);
      expect(await WsClient.handshake(app.ws, { token, query: true })).toBe(401);
    });

    it('is a 401 on REST and on an SSE route', async () => {
      const client = new RestClient(app.http, make());
      for (const path of [
        '/api/threads',
        '/api/agent/some-run/stream',
        '/api/agent/some-run/status',
      ]) {
        const res = await client.get(path);
        expect(res.status).toBe(401);
        expect(res.body).toMatchObject({ code: 'unauthorized', request_id: expect.any(String) });
      }
      expect((await client.post('/api/stream-tickets')).status).toBe(401);
    });
  });

  it('takes a good token on every channel', async () => {
    expect(await WsClient.handshake(app.ws, { token: valid('ann') })).toBe(101);
    expect(await WsClient.handshake(app.ws, { token: valid('ann'), query: true })).toBe(101);
    expect((await ann.get('/api/threads')).status).toBe(200);
  });

  it('refuses a handshake whose query string is over 2048 bytes with 414, as REST does', async () => {
    const long = `${app.ws}?pad=${'x'.repeat(2050)}`;
    expect(await WsClient.handshake(long, { token: valid('ann') })).toBe(414);
    expect((await ann.get(`/api/threads?pad=${'x'.repeat(2050)}`)).status).toBe(414);
    expect(await WsClient.handshake(`${app.ws}?pad=x`, { token: valid('ann') })).toBe(101);
  });

  describe('the Origin of a WebSocket handshake', () => {
    it.each([
      ['a foreign site', 'https://evil.test'],
      ['a sandboxed page (null)', 'null'],
      ['a look-alike host', `${CHAT}.evil.test`],
      ['the listed host over another scheme', 'http://chat.example.test'],
      ['the listed origin with a port', `${CHAT}:8443`],
    ])('refuses %s with 403 before the upgrade, valid token or not', async (_label, origin) => {
      expect(await WsClient.handshake(app.ws, { token: valid('ann'), origin })).toBe(403);
      expect(await WsClient.handshake(app.ws, { origin })).toBe(403);
    });

    it('accepts a listed origin, the app’s own, and clients that send none', async () => {
      const own = new URL(app.http).origin;
      for (const origin of [CHAT, own, undefined]) {
        expect(await WsClient.handshake(app.ws, { token: valid('ann'), origin })).toBe(101);
      }
    });
  });

  describe('stream tickets', () => {
    const ticket = async (client = ann) => {
      const res = await client.post('/api/stream-tickets');
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ ticket: expect.any(String), expires_in: 60 });
      return res.body.ticket as string;
    };

    it('open one WebSocket as the user who asked, once', async () => {
      const one = await ticket();
      const socket = await WsClient.connect(app.ws, { ticket: one, origin: CHAT });
      const made = await socket.request('create_thread', { title: 'made over a ticket' });
      expect(made.type).toBe('ack');
      await socket.close();
      // It was ann's socket: the thread is hers.
      const mine = await ann.get(`/api/threads/${made.payload.id}`);
      expect(mine.body).toMatchObject({ title: 'made over a ticket' });
      expect(await WsClient.handshake(app.ws, { ticket: one })).toBe(401);
      expect(await WsClient.handshake(app.ws, { ticket: 'made-up' })).toBe(401);
    });

    it('open one SSE stream without any header, as an EventSource does; resuming takes a new one', async () => {
      const started = await ann.post('/api/agent/run_agent', { query: 'What is 2 + 2?' });
      const stream = (t: string, after = '') =>
        `${app.http}/api/agent/${started.body.run_id}/stream?ticket=${encodeURIComponent(t)}${after}`;
      const one = await ticket();
      const first = await readSse(stream(one), { onEvent: () => true });
      expect(first.dropped).toBe(true);
      const seen = first.events.at(-1)!.seq;
      // The browser's EventSource reconnects with the same URL: the used ticket is refused...
      expect((await fetch(stream(one))).status).toBe(401);
      // ...so the client asks for another and resumes from the last seq it saw.
      const rest = await readSse(stream(await ticket(), `&after=${seen}`), {});
      expect(rest.events[0].seq).toBe(seen + 1);
      expect(rest.events.at(-1)!.data.answer).toBe('2 + 2 = 4.');
    });

    it('are made over the WebSocket too, and used on SSE', async () => {
      const socket = await WsClient.connect(app.ws, { token: valid('ann') });
      const started = await socket.request('start_agent', { query: 'What is 3 * 3?' });
      const made = await socket.request('create_stream_ticket');
      expect(made.payload).toEqual({ ticket: expect.any(String), expires_in: 60 });
      await socket.close();
      const url = `${app.http}/api/agent/${started.payload.run_id}/stream?ticket=${made.payload.ticket}`;
      const { events } = await readSse(url, {});
      expect(events.at(-1)!.data.answer).toBe('3 * 3 = 9.');
    });

    it('are not taken by routes other than the streams, and are not used up there', async () => {
      const one = await ticket();
      const res = await new RestClient(app.http).get(`/api/threads?ticket=${one}`);
      expect(res.status).toBe(401);
      expect(await WsClient.handshake(app.ws, { ticket: one })).toBe(101);
    });

    it('expire', async () => {
      const one = await ticket();
      const db = new Client({ connectionString: app.databaseUrl });
      await db.connect();
      try {
        await db.query(`UPDATE stream_tickets SET expires_at = now() - interval '1 second'`);
      } finally {
        await db.end();
      }
      expect(await WsClient.handshake(app.ws, { ticket: one })).toBe(401);
    });

    it('never outlive the token that asked for them', async () => {
      const short = new RestClient(app.http, valid('ann', { exp: now() + 20 }));
      const res = await short.post('/api/stream-tickets');
      expect(res.body.expires_in).toBeLessThanOrEqual(20);
    });
  });

  describe('a token that expires while its socket is open', () => {
    it('closes the socket with 4401 and says why, with the header or a ticket', async () => {
      const exp = now() + 2;
      const direct = await WsClient.connect(app.ws, { token: valid('ann', { exp }) });
      const short = new RestClient(app.http, valid('ann', { exp }));
      const ticketed = await WsClient.connect(app.ws, {
        ticket: (await short.post('/api/stream-tickets')).body.ticket,
      });
      for (const socket of [direct, ticketed]) {
        expect((await socket.request('ping')).type).toBe('pong');
      }
      for (const socket of [direct, ticketed]) {
        expect(await socket.closed).toEqual({ code: 4401, reason: 'token expired' });
        expect(socket.frames.at(-1)).toMatchObject({
          type: 'error',
          payload: { code: 'unauthorized' },
        });
      }
      expect(Date.now()).toBeGreaterThanOrEqual((exp - 1) * 1000);
    });
  });

  describe('CORS', () => {
    const preflight = (origin: string) =>
      fetch(`${app.http}/api/threads`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type,idempotency-key',
        },
      });

    it('answers a preflight from a listed origin', async () => {
      const res = await preflight(CHAT);
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe(CHAT);
      expect(res.headers.get('access-control-allow-methods')).toContain('POST');
      expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain(
        'authorization',
      );
      expect(res.headers.get('vary')).toMatch(/origin/i);
    });

    it('gives a foreign origin no CORS headers, so its browser keeps the answer from it', async () => {
      const res = await preflight('https://evil.test');
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      const get = await fetch(`${app.http}/api/threads`, {
        headers: { origin: 'https://evil.test', authorization: `Bearer ${valid('ann')}` },
      });
      expect(get.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('lets a listed origin read the answer and the run headers', async () => {
      const res = await fetch(`${app.http}/api/threads`, {
        headers: { origin: CHAT, authorization: `Bearer ${valid('ann')}` },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBe(CHAT);
      expect(res.headers.get('access-control-expose-headers')).toContain('X-Run-Id');
    });

    it("lets a page use the protocol channels' headers (MCP's session, the Agent Protocol's run location)", async () => {
      const res = await fetch(`${app.http}/mcp`, {
        method: 'OPTIONS',
        headers: {
          origin: CHAT,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,mcp-session-id,mcp-protocol-version',
        },
      });
      expect(res.status).toBe(204);
      const allowed = res.headers.get('access-control-allow-headers')?.toLowerCase();
      expect(allowed).toContain('mcp-session-id');
      expect(allowed).toContain('mcp-protocol-version');
      const read = await fetch(`${app.http}/api/threads`, {
        headers: { origin: CHAT, authorization: `Bearer ${valid('ann')}` },
      });
      const exposed = read.headers.get('access-control-expose-headers')?.toLowerCase();
      for (const header of ['mcp-session-id', 'content-location', 'location']) {
        expect(exposed).toContain(header);
      }
    });
  });

  it('sends security headers on every answer', async () => {
    for (const res of [
      await fetch(`${app.http}/api/threads`),
      await fetch(`${app.http}/api/health`),
      await fetch(`${app.http}/docs-json`),
    ]) {
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(res.headers.get('x-powered-by')).toBeNull();
    }
  });
});

describe('DOCS_ENABLED=false', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { DOCS_ENABLED: 'false' } });
  });
  afterAll(() => app.close());

  it('serves no Swagger UI and no spec', async () => {
    expect((await fetch(`${app.http}/docs`)).status).toBe(404);
    expect((await fetch(`${app.http}/docs-json`)).status).toBe(404);
    expect((await fetch(`${app.http}/api/health`)).status).toBe(200);
  });
});
