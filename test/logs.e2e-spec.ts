import { Instance, hs256, tokenFor } from './support/instance';
import { RestClient } from './support/rest-client';
import { readSse } from './support/sse-client';
import { createDatabase, dropDatabase, TEST_JWT_SECRET } from './support/test-app';
import { until } from './support/until';
import { WsClient } from './support/ws-client';

// Everything a credential can ride in reaches a server at the most verbose log level; nothing of
// it reaches a log line: not the tokens (valid or not), not a ticket, not the secret.
describe('logs at level trace', () => {
  let databaseUrl: string;
  let server: Instance;

  beforeAll(async () => {
    databaseUrl = await createDatabase();
    server = await Instance.start('logs', databaseUrl, { LOG_LEVEL: 'trace' });
  });
  afterAll(async () => {
    await server.stop();
    await dropDatabase(databaseUrl);
  });

  it('hold no token, ticket or secret', async () => {
    const token = tokenFor('logan');
    const forged = hs256({ sub: 'logan', exp: 9_999_999_999 }, 'not-the-secret-0123456789abcdef');
    const api = new RestClient(server.http, token);
    const secrets: string[] = [token, forged, TEST_JWT_SECRET];

    // The header, and tokens put where they do not belong: query strings, a path.
    await api.get('/api/threads');
    for (const query of ['token', 'access_token', 'Token', '%74oken', 'q']) {
      await api.get(`/api/threads?${query}=${token}`);
    }
    await api.get(`/api/agent/${token}/status`);
    await new RestClient(server.http, forged).get('/api/threads');
    await new RestClient(server.http, 'not-a-jwt').get('/api/threads');

    // Tickets: made, used on SSE and on the WebSocket, and used again (refused).
    const started = await api.post('/api/agent/run_agent', { query: 'What is 2 + 2?' });
    const tickets: string[] = [];
    for (let i = 0; i < 2; i += 1)
      tickets.push((await api.post('/api/stream-tickets')).body.ticket);
    secrets.push(...tickets);
    const stream = `${server.http}/api/agent/${started.body.run_id}/stream?ticket=${tickets[0]}`;
    await readSse(stream, {});
    expect((await fetch(stream)).status).toBe(401);
    const socket = await WsClient.connect(server.ws, { ticket: tickets[1] });
    const made = await socket.request('create_stream_ticket');
    secrets.push(made.payload.ticket);
    await socket.close();
    expect(await WsClient.handshake(server.ws, { ticket: tickets[1] })).toBe(401);
    const legacy = await WsClient.connect(server.ws, { token, query: true });
    await legacy.request('ping');
    await legacy.close();
    expect(await WsClient.handshake(server.ws, { token: forged, query: true })).toBe(401);

    // The logs were written, at every level, for these requests.
    await until(() => server.output.includes(`/api/agent/${started.body.run_id}/stream`));
    await until(() => server.output.includes('handshake refused with 401'));
    expect(server.output).toContain('"level":10'); // trace: each frame
    expect(server.output).toContain('"level":20'); // debug: sockets, refused handshakes
    expect(server.output).toContain('[Redacted]');
    expect(server.output.split('\n').length).toBeGreaterThan(20);
    for (const secret of secrets) {
      expect(server.output).not.toContain(secret);
      // Nor any of its parts that carry weight: a JWT's signature, its payload.
      for (const part of secret.split('.').filter((p) => p.length > 20)) {
        expect(server.output).not.toContain(part);
      }
    }
  });

  // What operators filter by: each line of a piece of work says whose it is.
  it('puts the request id and user id on request lines, the run id on the run lines, no headers', async () => {
    const api = new RestClient(server.http, tokenFor('tracy'));
    const requestId = 'logs-test-request-1';
    const started = await api.post(
      '/api/agent/run_agent',
      { query: 'What is 6 * 7?' },
      { 'x-request-id': requestId },
    );
    await readSse(`${server.http}/api/agent/${started.body.run_id}/stream`, { token: api.token });
    const socket = await WsClient.connect(server.ws, { token: tokenFor('tracy') });
    await socket.request('list_threads', {});
    await socket.close();
    const runId = started.body.run_id as string;
    const lines = () =>
      server.output
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    await until(() => lines().some((l) => l.run_id === runId));
    const request = lines().find((l) => l.request_id === requestId && l.res);
    expect(request).toMatchObject({
      msg: expect.stringMatching(/^POST \/api\/agent\/run_agent 202 \d+ ms$/),
      user_id: 'tracy',
      run_id: started.body.run_id,
      req: { method: 'POST', url: '/api/agent/run_agent' },
      res: { statusCode: 202 },
    });
    expect(JSON.stringify(request)).not.toMatch(/headers|user-agent|content-type/i);
    // The executor's lines for the run carry its id and its user.
    for (const line of lines().filter((l) => l.run_id === runId)) {
      expect(line.user_id).toBe('tracy');
    }
    // A frame's lines carry the frame's correlation id and the socket's user.
    const frame = lines().find((l) => typeof l.msg === 'string' && /list_threads/.test(l.msg));
    expect(frame).toMatchObject({ user_id: 'tracy', request_id: expect.any(String) });
  });
});

// A person running it in development reads one line per entry; collectors get JSON elsewhere.
describe('log format', () => {
  let databaseUrl: string;
  beforeAll(async () => {
    databaseUrl = await createDatabase();
  });
  afterAll(() => dropDatabase(databaseUrl));

  it.each([
    ['development', {}, 'pretty'],
    ['production', {}, 'json'],
    ['development', { LOG_FORMAT: 'json' }, 'json'],
  ])('NODE_ENV=%s %j logs %s lines', async (nodeEnv, extra, format) => {
    const server = await Instance.start(`format-${nodeEnv}`, databaseUrl, {
      NODE_ENV: nodeEnv,
      LOG_LEVEL: 'info',
      JWT_SECRET: `${TEST_JWT_SECRET}-long-enough-for-production`,
      ...extra,
    });
    try {
      expect((await fetch(`${server.http}/health/live`)).status).toBe(200);
      await until(() => server.output.includes('/health/live 200'));
      const line = server.output.split('\n').find((l) => l.includes('/health/live 200'))!;
      if (format === 'pretty') {
        expect(line).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: GET \/health\/live 200 \d+ ms/);
      } else {
        expect(JSON.parse(line)).toMatchObject({
          msg: expect.stringContaining('/health/live 200'),
        });
      }
    } finally {
      await server.stop();
    }
  });
});
