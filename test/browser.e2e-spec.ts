import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Browser, Page } from 'playwright-core';
import { launchChromium } from './support/chromium';
import { startTestApp, TestApp } from './support/test-app';

// The browser's side of authentication, in a real Chromium: a page on another origin that the
// configuration allows gets through CORS (preflight and all), opens an EventSource and a WebSocket
// with single-use tickets (neither can send an Authorization header), and a page on an origin it
// does not allow gets nowhere.

// A site of its own (its own port, so its own origin) serving one empty page.
async function site(): Promise<{ server: Server; origin: string }> {
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end('<!doctype html><title>client</title>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

interface BrowserResult {
  ok: boolean;
  error?: string;
  events?: { type: string; seq: number }[];
  answer?: string;
  pong?: boolean;
  reused?: string;
}

describe('a browser on another site', () => {
  let app: TestApp;
  let browser: Browser;
  let allowed: Awaited<ReturnType<typeof site>>;
  let foreign: Awaited<ReturnType<typeof site>>;
  let token: string;

  beforeAll(async () => {
    [allowed, foreign] = await Promise.all([site(), site()]);
    app = await startTestApp({ env: { ALLOWED_ORIGINS: allowed.origin } });
    token = await app.token('browser-user');
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await app.close();
    for (const s of [allowed, foreign]) await new Promise((r) => s.server.close(r));
  });

  const pageAt = async (origin: string): Promise<Page> => {
    const page = await browser.newPage();
    await page.goto(origin);
    return page;
  };

  it('starts a run, follows it with an EventSource and talks over a WebSocket, with tickets', async () => {
    const page = await pageAt(allowed.origin);
    const result = await page.evaluate(
      async ({ api, ws, token }): Promise<BrowserResult> => {
        const auth = { authorization: `Bearer ${token}` };
        const ticket = async () =>
          (
            (await (
              await fetch(`${api}/api/stream-tickets`, { method: 'POST', headers: auth })
            ).json()) as { ticket: string }
          ).ticket;
        // JSON with a bearer token: the browser asks first (a preflight).
        const started = (await (
          await fetch(`${api}/api/agent/run_agent`, {
            method: 'POST',
            headers: { ...auth, 'content-type': 'application/json' },
            body: JSON.stringify({ query: 'What is 6 * 7?' }),
          })
        ).json()) as { run_id: string };
        const events: { type: string; seq: number }[] = [];
        const first = await ticket();
        const answer = await new Promise<string>((resolve, reject) => {
          const source = new EventSource(
            `${api}/api/agent/${started.run_id}/stream?ticket=${encodeURIComponent(first)}`,
          );
          for (const type of [
            'agent_started',
            'agent_thinking',
            'tool_executing',
            'tool_completed',
            'agent_response_chunk',
            'agent_completed',
          ]) {
            source.addEventListener(type, (e) => {
              const event = JSON.parse((e as unknown as { data: string }).data) as {
                type: string;
                seq: number;
                data: { answer?: string };
              };
              events.push({ type: event.type, seq: event.seq });
              if (type === 'agent_completed') {
                source.close();
                resolve(event.data.answer ?? '');
              }
            });
          }
          source.onerror = () => {
            source.close();
            reject(new Error('EventSource failed'));
          };
        });
        // The used ticket opens nothing again.
        const reused = await new Promise<string>((resolve) => {
          const again = new EventSource(
            `${api}/api/agent/${started.run_id}/stream?ticket=${first}`,
          );
          again.onerror = () => {
            resolve(again.readyState === EventSource.CLOSED ? 'refused' : 'retrying');
            again.close();
          };
          again.onopen = () => resolve('opened');
        });
        const pong = await new Promise<boolean>((resolve, reject) => {
          void ticket().then((t) => {
            const socket = new WebSocket(`${ws}?ticket=${encodeURIComponent(t)}`);
            socket.onopen = () => socket.send(JSON.stringify({ type: 'ping', request_id: 'b1' }));
            socket.onmessage = (m) => {
              const frame = JSON.parse(m.data as string) as { type: string; request_id?: string };
              if (frame.request_id === 'b1') {
                socket.close();
                resolve(frame.type === 'pong');
              }
            };
            socket.onerror = () => reject(new Error('WebSocket failed'));
          });
        });
        return { ok: true, events, answer, pong, reused };
      },
      { api: app.http, ws: app.ws, token },
    );
    expect(result.answer).toBe('6 * 7 = 42.');
    expect(result.events!.map((e) => e.seq)).toEqual(result.events!.map((_, i) => i + 1));
    expect(result.reused).toBe('refused');
    expect(result.pong).toBe(true);
    await page.close();
  });

  it('a site the configuration does not list can neither read answers nor open a socket', async () => {
    const page = await pageAt(foreign.origin);
    const result = await page.evaluate(
      async ({ api, ws, token }) => {
        const fetched = await fetch(`${api}/api/threads`, {
          headers: { authorization: `Bearer ${token}` },
        }).then(
          () => 'read',
          () => 'blocked',
        );
        const socket = await new Promise<string>((resolve) => {
          const s = new WebSocket(`${ws}?token=${token}`);
          s.onopen = () => resolve('opened');
          s.onclose = (e) => resolve(`closed ${e.code}`);
        });
        return { fetched, socket };
      },
      { api: app.http, ws: app.ws, token },
    );
    // CORS keeps the answer from the page; the handshake is refused (403) before any upgrade.
    expect(result).toEqual({ fetched: 'blocked', socket: 'closed 1006' });
    await page.close();
  });
});
