import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { eventually } from './support/eventually';
import { deepestNesting } from './support/hostile-arbitraries';
import { Instance, tokenFor } from './support/instance';
import { RestClient } from './support/rest-client';
import { readSse } from './support/sse-client';
import { createDatabase, dropDatabase, startTestApp, TestApp } from './support/test-app';
import { WsClient } from './support/ws-client';

const FRAMES_PER_MINUTE = 40;
const SOCKETS_PER_USER = 3;

// Misbehaving WebSocket clients: each is dealt with on its own socket (or its own user's budget),
// and a calm user on another socket notices nothing.
describe('malformed and abusive WebSocket traffic', () => {
  let app: TestApp;
  let calm: WsClient;

  beforeAll(async () => {
    app = await startTestApp({
      env: {
        RATE_LIMIT_FRAMES: String(FRAMES_PER_MINUTE),
        MAX_SOCKETS_PER_USER: String(SOCKETS_PER_USER),
        WS_HEARTBEAT_MS: '300',
      },
    });
    calm = await WsClient.connect(app.ws, { token: await app.token('calm') });
  });
  afterAll(async () => {
    await calm.close();
    await app.close();
  });

  // The calm user's socket still answers, after whatever the other did.
  const calmStillServed = async () => {
    expect((await calm.request('ping')).type).toBe('pong');
  };
  const connect = async (user: string) =>
    WsClient.connect(app.ws, { token: await app.token(user) });

  it('invalid UTF-8 in a text frame closes that socket with 1007', async () => {
    const client = await connect('utf8');
    client.socket.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    expect((await client.closed).code).toBe(1007);
    await calmStillServed();
  });

  it('a frame over 64 KiB closes that socket with 1009; one just under is answered', async () => {
    const client = await connect('big');
    const frame = (size: number) => {
      const base = JSON.stringify({ type: 'create_thread', payload: { title: '' } });
      return base.replace('"title":""', `"title":"${'x'.repeat(size - base.length)}"`);
    };
    client.sendRaw(frame(64 * 1024));
    expect((await client.waitFor((f) => f.type === 'error')).payload.code).toBe(
      'validation_failed', // the title is too long, but the frame was read
    );
    client.sendRaw(frame(64 * 1024 + 1));
    expect((await client.closed).code).toBe(1009);
    await calmStillServed();
  });

  it('garbage of every kind gets error frames and leaves the socket usable', async () => {
    const client = await connect('garbage');
    const junk = [
      '',
      'null',
      '[]',
      '"x"',
      '{"type":1}',
      '{',
      '\u0000',
      '{"type":"ping","payload":5}',
    ];
    for (const raw of junk) client.sendRaw(raw);
    client.sendRaw(Buffer.from([0, 1, 2, 3]));
    await eventually(
      () => Promise.resolve(client.frames.filter((f) => f.type === 'error').length),
      (n) => n === junk.length + 1,
      5_000,
    );
    expect((await client.request('ping')).type).toBe('pong');
    await client.close();
    await calmStillServed();
  });

  it('nesting as deep as a frame can hold, in any part of it, gets error frames and leaves the socket usable', async () => {
    const client = await connect('nester');
    // Sends a frame and resolves with the server's answer to it.
    const answer = async (frame: string) => {
      expect(Buffer.byteLength(frame)).toBeLessThanOrEqual(64 * 1024);
      const from = client.frames.length;
      client.sendRaw(frame);
      const reply = await client.waitFor((f) => client.frames.indexOf(f) >= from);
      return { type: reply.type, code: reply.payload?.code, errors: reply.payload?.errors };
    };
    // As deep as fits in what is left of a 64 KiB frame around it.
    const deepest = (around: string, kind: 'arrays' | 'objects') =>
      around.replace('@', deepestNesting(64 * 1024 - around.length + 1)[kind]);
    const nesting = {
      type: 'error',
      code: 'validation_failed',
      errors: [{ field: 'payload', messages: [expect.stringMatching(/nested deeper than/)] }],
    };
    expect(await answer(deepest('{"type":"start_agent","payload":@}', 'arrays'))).toEqual(nesting);
    expect(await answer(deepest('{"type":"create_thread","payload":@}', 'objects'))).toEqual(
      nesting,
    );
    expect(
      await answer(deepest('{"type":"create_thread","payload":{"title":@}}', 'arrays')),
    ).toEqual(nesting);
    // The frame around the payload: its type, its request id, a key it does not have, itself.
    for (const around of [
      '{"type":@}',
      '{"type":"ping","request_id":@}',
      '{"type":"ping","extra":@}',
      '@',
    ]) {
      for (const kind of ['arrays', 'objects'] as const) {
        expect(await answer(deepest(around, kind))).toMatchObject({
          type: 'error',
          code: expect.stringMatching(/^(validation_failed|bad_frame)$/),
        });
      }
    }
    expect((await client.request('ping')).type).toBe('pong');
    await client.close();
    await calmStillServed();
  });

  it('a flood gets rate_limited frames past the budget, for that user only', async () => {
    const client = await connect('flood');
    const answers = await Promise.all(
      Array.from({ length: FRAMES_PER_MINUTE + 20 }, () => client.request('ping')),
    );
    const pongs = answers.filter((f) => f.type === 'pong');
    const limited = answers.filter((f) => f.type === 'error');
    expect(pongs).toHaveLength(FRAMES_PER_MINUTE);
    expect(limited).toHaveLength(20);
    for (const f of limited) {
      expect(f.payload).toMatchObject({ code: 'rate_limited', retry_after_ms: expect.any(Number) });
      expect(f.payload.retry_after_ms).toBeGreaterThan(0);
      expect(f.payload.retry_after_ms).toBeLessThanOrEqual(60_000);
    }
    // The socket stays open; the budget is the user's, on every socket of theirs.
    const second = await connect('flood');
    expect((await second.request('ping')).payload.code).toBe('rate_limited');
    await Promise.all([client.close(), second.close()]);
    await calmStillServed();
  });

  it('abrupt closes free their sockets: the user can open as many again', async () => {
    const open = () => Array.from({ length: SOCKETS_PER_USER }, () => connect('quitter'));
    const first = await Promise.all(open());
    // One more is refused before the upgrade.
    const token = await app.token('quitter');
    expect(await WsClient.handshake(app.ws, { token })).toBe(429);
    for (const client of first) {
      void client.request('start_agent', { query: 'wait 1 seconds' });
      client.socket.terminate(); // no close frame, mid-request
    }
    await Promise.all(first.map((c) => c.closed));
    const again = await eventually(
      async () => {
        const clients = await Promise.allSettled(open());
        const opened = clients.flatMap((c) => (c.status === 'fulfilled' ? [c.value] : []));
        if (opened.length < SOCKETS_PER_USER) await Promise.all(opened.map((c) => c.close()));
        return opened;
      },
      (opened) => opened.length === SOCKETS_PER_USER,
      5_000,
    );
    for (const client of again) expect((await client.request('ping')).type).toBe('pong');
    await Promise.all(again.map((c) => c.close()));
    await calmStillServed();
  });

  it('handshakes at the same moment cannot open more sockets than the cap', async () => {
    const token = await app.token('racer');
    const attempts = await Promise.allSettled(
      Array.from({ length: SOCKETS_PER_USER * 3 }, () => WsClient.connect(app.ws, { token })),
    );
    const opened = attempts.flatMap((a) => (a.status === 'fulfilled' ? [a.value] : []));
    // Past the cap: refused with 429 before the upgrade, or closed with 1008 right after it.
    const served = await Promise.all(
      opened.map((c) =>
        Promise.race([
          c.request('ping').then(() => c),
          c.closed.then(({ code }) => {
            expect(code).toBe(1008);
            return null;
          }),
        ]),
      ),
    );
    expect(served.filter(Boolean)).toHaveLength(SOCKETS_PER_USER);
    await Promise.all(opened.map((c) => c.close()));
  });

  it('a socket that only sends unasked pongs is dropped by the heartbeat', async () => {
    const client = await WsClient.connect(app.ws, {
      token: await app.token('pretender'),
      autoPong: false,
    });
    const pretend = setInterval(() => client.socket.pong(Buffer.from('alive')), 20);
    try {
      // Terminated (no close frame): it never answered a ping of the server's.
      expect((await client.closed).code).toBe(1006);
    } finally {
      clearInterval(pretend);
    }
    await calmStillServed();
  });
});

// The slow reader, against a real server process: it asks for more than it reads (subscribe
// frames replaying finished runs) and reads nothing. Its unsent output is bounded
// (WS_MAX_BUFFERED_BYTES, 1 MiB by default): past it the socket is closed and its subscriptions
// freed, and the process's memory stays within 64 MiB of where it started.
describe('a client that never reads', () => {
  const MiB = 1024 * 1024;
  let databaseUrl: string;
  let server: Instance;

  beforeAll(async () => {
    databaseUrl = await createDatabase();
    // Only the bound may close the reader: the heartbeat would take minutes.
    server = await Instance.start('slow-reader', databaseUrl, { WS_HEARTBEAT_MS: '600000' });
  });
  afterAll(async () => {
    await server.stop();
    await dropDatabase(databaseUrl);
  });

  const rss = () => {
    const status = readFileSync(`/proc/${server.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
  };

  it('is closed at its bound while memory stays flat, and nobody else notices', async () => {
    const token = tokenFor('slow');
    const api = new RestClient(server.http, token);
    // Finished runs with big events (the query is in them) to replay.
    const runIds: string[] = [];
    for (let i = 0; i < 10; i += 1) {
      const started = await api.post('/api/agent/run_agent', {
        query: `What is ${i} + 1? ${'padding '.repeat(1_200)}`,
      });
      runIds.push(started.body.run_id);
      await readSse(`${server.http}/api/agent/${started.body.run_id}/stream`, { token });
    }
    const bystander = await WsClient.connect(server.ws, { token: tokenFor('bystander') });
    // The same replays read by a client that keeps up, first: V8 sizes its young generation to
    // the allocation rate once (tens of MiB on a large machine), and that is not what is measured.
    const fast = await WsClient.connect(server.ws, { token });
    for (let i = 0; i < 700; i += 1) {
      const runId = runIds[i % runIds.length];
      fast.sendRaw(
        JSON.stringify({ type: 'subscribe', request_id: i, payload: { run_id: runId } }),
      );
    }
    await fast.waitFor((f) => f.request_id === 699);
    await fast.close();
    const reader = await WsClient.connect(server.ws, { token });
    (reader.socket as unknown as { _socket: Socket })._socket.pause();

    const start = rss();
    let peak = start;
    const sampler = setInterval(() => (peak = Math.max(peak, rss())), 20);
    let sent = 0;
    try {
      // Up to 7,200 subscribe frames, as in the report, until the server gives up on the reader.
      while (sent < 7_200 && !server.output.includes('bytes unread')) {
        for (let i = 0; i < 200; i += 1, sent += 1) {
          const runId = runIds[sent % runIds.length];
          reader.sendRaw(JSON.stringify({ type: 'subscribe', payload: { run_id: runId } }));
        }
        expect((await bystander.request('ping')).type).toBe('pong');
      }
      await eventually(
        () => Promise.resolve(server.output),
        (output) => output.includes('bytes unread'),
        30_000,
      );
      // Let the reader read again: what reaches it is the end of the socket.
      (reader.socket as unknown as { _socket: Socket })._socket.resume();
      expect([1013, 1006]).toContain((await reader.closed).code);
    } finally {
      clearInterval(sampler);
    }
    const unread = Number(/left (\d+) bytes unread/.exec(server.output)![1]);
    expect(unread).toBeGreaterThan(MiB);
    expect(unread).toBeLessThan(2 * MiB);
    expect(peak - start).toBeLessThan(64 * MiB);
    console.info(
      `slow reader closed after ${sent} frames with ${Math.round(unread / 1024)} KiB unread; ` +
        `RSS ${Math.round(start / MiB)} MiB at the start, peak +${Math.round((peak - start) / MiB)} MiB`,
    );

    // The bystander was served throughout and still is; a run goes end to end.
    const started = await bystander.request('start_agent', { query: 'What is 5 * 5?' });
    const events = await bystander.terminal(started.payload.run_id);
    expect(events.at(-1)!.data.answer).toBe('5 * 5 = 25.');
    await bystander.close();
  });
});
