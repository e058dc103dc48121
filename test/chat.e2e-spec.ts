import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Browser, Locator, Page } from 'playwright-core';
import { launchChromium } from './support/chromium';
import { CuttableProxy } from './support/cuttable-proxy';
import { eventually } from './support/eventually';
import { hs256, Instance } from './support/instance';
import { createDatabase, dropDatabase } from './support/test-app';

// The browser chat (web/, served at `/`) in a real Chromium, against the app as `npm start` runs
// it: `node dist/src/main.js` with no JWT_SECRET, so it signs with its generated development
// secret and offers the development token. The browser reaches it through a TCP proxy that can cut
// the WebSocket the way a network does.
const ROOT = join(__dirname, '..');

interface ServerEvent {
  seq: number;
  type: string;
}

interface Session {
  page: Page;
  token: string;
  // alert/confirm/prompt dialogs the page opened (none may: the XSS case counts them).
  dialogs: string[];
}

describe('the browser chat', () => {
  let databaseUrl: string;
  let dataDir: string;
  let app: Instance;
  let proxy: CuttableProxy;
  let browser: Browser;
  let secret: string;

  beforeAll(async () => {
    // `npm test` runs `nest build`, which builds the app but not the page.
    execFileSync(process.execPath, [join(ROOT, 'web', 'build.mjs')], { stdio: 'inherit' });
    databaseUrl = await createDatabase();
    dataDir = mkdtempSync(join(tmpdir(), 'netra-chat-'));
    app = await Instance.start('chat', databaseUrl, { JWT_SECRET: '', DATA_DIR: dataDir });
    secret = readFileSync(join(dataDir, 'jwt-secret'), 'utf8').trim();
    proxy = await CuttableProxy.start({ host: '127.0.0.1', port: app.port });
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await app?.stop();
    if (databaseUrl) await dropDatabase(databaseUrl);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  // A token of the development secret for a user of the test's own, pasted into the sign-in form.
  const tokenFor = (user: string) => {
    const now = Math.floor(Date.now() / 1000);
    return hs256({ sub: user, iat: now, exp: now + 3600 }, secret);
  };

  const open = async (viewport = { width: 1100, height: 900 }): Promise<Session> => {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await page.goto(proxy.origin);
    return { page, dialogs, token: '' };
  };

  const signIn = async (user: string, viewport?: { width: number; height: number }) => {
    const session = await open(viewport);
    session.token = tokenFor(user);
    await session.page.getByLabel('Token').fill(session.token);
    await session.page.getByRole('button', { name: 'Sign in' }).click();
    await connected(session.page);
    return session;
  };

  const connected = (page: Page) => page.locator('#connection[data-state="open"]').waitFor();
  const messageBox = (page: Page) => page.getByRole('textbox', { name: 'Message' });
  const lastRun = (page: Page) => page.locator('article[data-run-id]').last();

  const send = async (page: Page, text: string) => {
    await messageBox(page).fill(text);
    await page.getByRole('button', { name: 'Send' }).click();
  };

  const api = async <T>(token: string, path: string): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${app.http}${path}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return { status: res.status, body: (res.status === 204 ? undefined : await res.json()) as T };
  };

  const serverEvents = async (token: string, runId: string) =>
    (await api<ServerEvent[]>(token, `/api/agent/${runId}/events?after=0&limit=1000`)).body;

  // What the run's event log shows: one entry per event the page applied.
  const shownEvents = (run: Locator) =>
    run
      .locator('.event-log li')
      .evaluateAll((items) =>
        items.map((li) => ({ seq: Number(li.dataset.seq), type: li.dataset.type ?? '' })),
      );

  const waitText = async (locator: Locator, expected: string | RegExp) => {
    await eventually(
      async () => (await locator.textContent())?.trim() ?? '',
      (text) => (typeof expected === 'string' ? text === expected : expected.test(text)),
      20_000,
    );
  };

  it('signs in with one click on a development server and streams an answer: thinking, the tool call, usage', async () => {
    const { page } = await open();
    await page.getByRole('button', { name: 'Use development token' }).click();
    await connected(page);
    await page.getByText('Signed in as dev-user').waitFor();
    const token = (await page.evaluate(() => sessionStorage.getItem('netra.token')))!;

    await messageBox(page).fill('What is 17 * 23?');
    await messageBox(page).press('Enter');
    // Shown at once, before the server has answered.
    expect(await page.locator('.turn.user').count()).toBe(1);
    await page.locator('.turn.user', { hasText: 'What is 17 * 23?' }).waitFor();

    const run = lastRun(page);
    await run.getByText('17 * 23 = 391.', { exact: true }).waitFor();
    await run.getByText(/needs calculator/).waitFor();
    await waitText(run.locator('[data-tool="calculator"] .arguments'), /"expression": "17 \* 23"/);
    await waitText(run.locator('[data-tool="calculator"] .badge'), 'done');
    await waitText(run.locator('.run-status'), 'Completed');

    const runId = (await run.getAttribute('data-run-id'))!;
    const status = await api<{ usage: { input_tokens: number; output_tokens: number } }>(
      token,
      `/api/agent/${runId}/status`,
    );
    await waitText(
      run.locator('.usage'),
      `Tokens: ${status.body.usage.input_tokens} in · ${status.body.usage.output_tokens} out`,
    );
    // Every event the server stored, once, in order; the answer came in chunks.
    const shown = await shownEvents(run);
    expect(shown).toEqual(
      (await serverEvents(token, runId)).map(({ seq, type }) => ({ seq, type })),
    );
    expect(shown.map((e) => e.type)).toContain('agent_response_chunk');

    // The new thread is named after its first message and is the open one.
    await page.getByRole('link', { name: /What is 17 \* 23\?/ }).waitFor();
    expect(
      await page.getByRole('link', { name: /What is 17 \* 23\?/ }).getAttribute('aria-current'),
    ).toBe('page');
    await page.close();
  }, 60_000);

  it('shows a hand-off to a sub-agent with the sub-agent’s own steps', async () => {
    const { page } = await signIn('chat-handoff');
    await send(page, 'ask researcher to summarise what I said about apollo');
    const run = lastRun(page);
    const handoff = run.locator('.part.handoff');
    await waitText(handoff.locator('.part-head strong'), 'researcher');
    await waitText(handoff.locator('.task'), 'summarise what I said about apollo');
    await handoff.locator('.sub-timeline .part-label', { hasText: 'researcher says' }).waitFor();
    await waitText(run.locator('.run-status'), 'Completed');
    expect(await run.locator('.event-log li', { hasText: '(researcher)' }).count()).toBeGreaterThan(
      0,
    );
    await page.close();
  }, 60_000);

  it('Stop cancels a run in progress, whose progress shows as it goes', async () => {
    const { page, token } = await signIn('chat-stop');
    await send(page, 'wait 30 seconds');
    const run = lastRun(page);
    await waitText(run.locator('[data-tool="wait"] .progress-text'), /^\d+ of 30 s$/);
    expect(await run.getByRole('progressbar', { name: 'wait progress' }).count()).toBe(1);
    await page.getByRole('button', { name: 'Stop' }).click();
    await waitText(run.locator('.run-status'), 'Stopped');
    await page.getByRole('button', { name: 'Stop' }).waitFor({ state: 'hidden' });
    const runId = (await run.getAttribute('data-run-id'))!;
    expect((await api<{ status: string }>(token, `/api/agent/${runId}/status`)).body.status).toBe(
      'cancelled',
    );
    await page.close();
  }, 60_000);

  it('a tool that needs approval shows its arguments, with Approve and Reject', async () => {
    const { page } = await signIn('chat-approval');
    await send(page, 'notify me that the build is done');
    let run = lastRun(page);
    const approval = run.getByRole('group', { name: 'Approval for notify' });
    await waitText(approval.locator('.arguments'), /"message": "the build is done"/);
    await waitText(run.locator('.run-status'), 'Waiting for your approval');
    // Still waiting after a reload: the thread's run in progress is followed again from its start.
    await page.reload();
    await connected(page);
    await waitText(approval.locator('.arguments'), /"message": "the build is done"/);
    await waitText(run.locator('.run-status'), 'Waiting for your approval');
    await approval.getByRole('button', { name: 'Approve' }).click();
    await waitText(approval.locator('.decision'), 'Approved');
    await run.getByText('I recorded the notification: "the build is done".').waitFor();
    await waitText(run.locator('.run-status'), 'Completed');
    expect(await approval.getByRole('button').count()).toBe(0);

    await send(page, 'notify me that lunch is ready');
    await page.locator('article[data-run-id]').nth(1).waitFor();
    run = lastRun(page);
    await run.getByRole('button', { name: 'Reject' }).click();
    await run.getByText('The notify call was rejected.').waitFor();
    await waitText(
      run.getByRole('group', { name: 'Approval for notify' }).locator('.decision'),
      'Rejected',
    );
    await page.close();
  }, 60_000);

  it('keeps the thread and its history across a reload; renames, creates and deletes threads', async () => {
    const { page, token } = await signIn('chat-history');
    await send(page, 'What is 2 + 3?');
    await lastRun(page).getByText('2 + 3 = 5.', { exact: true }).waitFor();
    const threadId = decodeURIComponent(new URL(page.url()).hash.replace('#thread=', ''));

    await page.reload();
    await connected(page);
    await page.locator('.turn.user', { hasText: 'What is 2 + 3?' }).waitFor();
    await page.locator('.turn.assistant .markdown', { hasText: '2 + 3 = 5.' }).waitFor();
    expect(
      await page.getByRole('link', { name: /What is 2 \+ 3\?/ }).getAttribute('aria-current'),
    ).toBe('page');

    await page.getByRole('button', { name: 'Rename' }).click();
    await page.getByLabel('Thread title').fill('Sums');
    await page.getByRole('button', { name: 'Save' }).click();
    await waitText(page.getByRole('heading', { level: 2 }), 'Sums');
    await page.getByRole('link', { name: /^Sums/ }).waitFor();
    await page.reload();
    await waitText(page.getByRole('heading', { level: 2 }), 'Sums');

    await page.getByRole('button', { name: 'New thread' }).click();
    await waitText(page.getByRole('heading', { level: 2 }), 'Untitled thread');
    await eventually(
      () => page.locator('#thread-list li').count(),
      (n) => n === 2,
      10_000,
    );
    expect(new URL(page.url()).hash).not.toContain(threadId);

    await page.getByRole('link', { name: /^Sums/ }).click();
    await waitText(page.getByRole('heading', { level: 2 }), 'Sums');
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('button', { name: 'Delete thread' }).click();
    await page.getByRole('link', { name: /^Sums/ }).waitFor({ state: 'detached' });
    await waitText(page.getByRole('heading', { level: 2 }), 'New conversation');
    expect((await api(token, `/api/threads/${threadId}`)).status).toBe(404);
    await page.close();
  }, 60_000);

  it('survives a dropped socket: reconnects with a new ticket and resumes the run, every event exactly once', async () => {
    const { page, token } = await signIn('chat-reconnect');
    await send(page, 'wait 6 seconds');
    const run = lastRun(page);
    await waitText(run.locator('[data-tool="wait"] .progress-text'), '1 of 6 s');
    const runId = (await run.getAttribute('data-run-id'))!;
    const handshakes = proxy.handshakes;

    proxy.cutWebSockets();
    await page.locator('#connection[data-state="reconnecting"]').waitFor();
    // The run goes on without the page: let it miss a few events before the network comes back.
    const seen = Math.max(...(await shownEvents(run)).map((e) => e.seq));
    await eventually(
      () => serverEvents(token, runId),
      (events) => events.length >= seen + 2,
      15_000,
    );
    proxy.restore();

    await connected(page);
    await run.getByText('I waited 6 seconds.', { exact: true }).waitFor();
    await waitText(run.locator('.run-status'), 'Completed');
    expect(proxy.handshakes).toBeGreaterThan(handshakes);
    const stored = (await serverEvents(token, runId)).map(({ seq, type }) => ({ seq, type }));
    expect(stored.at(-1)?.type).toBe('agent_completed');
    expect(await shownEvents(run)).toEqual(stored);
    await waitText(run.locator('[data-tool="wait"] .progress-text'), '5 of 6 s');
    await page.close();
  }, 60_000);

  it('renders Markdown but leaves HTML in an answer inert', async () => {
    const { page, dialogs } = await signIn('chat-xss');
    const hostile =
      '**bold** <img src=x onerror=alert(1)> [click me](javascript:alert(2)) <script>alert(3)</script>';
    await send(page, hostile);
    const inert = async () => {
      const answer = page.locator('.turn.assistant .markdown').last();
      await answer.locator('strong', { hasText: 'bold' }).waitFor();
      await answer.locator('a', { hasText: 'click me' }).waitFor();
      expect(await page.locator('[onerror]').count()).toBe(0);
      expect(await page.locator('a[href^="javascript:" i]').count()).toBe(0);
      expect(await answer.locator('script').count()).toBe(0);
      // The user's own message is text, shown as typed.
      await waitText(page.locator('.turn.user .user-text').last(), hostile);
      expect(dialogs).toEqual([]);
    };
    await waitText(lastRun(page).locator('.run-status'), 'Completed');
    await inert();
    // And the same answer read back from the history.
    await page.reload();
    await connected(page);
    await page.locator('.turn.assistant .markdown strong', { hasText: 'bold' }).waitFor();
    await inert();
    await page.close();
  }, 60_000);

  it('works with the keyboard alone', async () => {
    const { page } = await open();
    await page.getByLabel('Token').focus();
    await page.keyboard.insertText(tokenFor('chat-keyboard'));
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter'); // Sign in
    await connected(page);
    // Tab reaches the message box.
    await eventually(
      async () => {
        await page.keyboard.press('Tab');
        return page.evaluate<string | undefined>('document.activeElement?.id');
      },
      (id) => id === 'message',
      10_000,
      0,
    );
    await page.keyboard.type('What is 6 * 7?');
    await page.keyboard.press('Enter');
    await lastRun(page).getByText('6 * 7 = 42.', { exact: true }).waitFor();
    await page.close();
  }, 60_000);

  it('is usable on a phone-sized screen', async () => {
    const { page } = await signIn('chat-phone', { width: 390, height: 800 });
    await page.getByRole('button', { name: 'Threads' }).click();
    await page.getByRole('button', { name: 'New thread' }).click();
    await waitText(page.getByRole('heading', { level: 2 }), 'Untitled thread');
    // The thread list closed again, out of the way.
    await page.getByRole('button', { name: 'New thread' }).waitFor({ state: 'hidden' });
    await send(page, 'What is 9 * 9?');
    await page.locator('.turn.user', { hasText: 'What is 9 * 9?' }).waitFor();
    await lastRun(page).getByText('9 * 9 = 81.', { exact: true }).waitFor();
    const fits = await page.evaluate<boolean>(
      'document.documentElement.scrollWidth <= window.innerWidth',
    );
    expect(fits).toBe(true);
    for (const name of ['Send', 'Threads']) {
      const box = (await page.getByRole('button', { name }).boundingBox())!;
      expect(box.x + box.width).toBeLessThanOrEqual(390);
      expect(box.y + box.height).toBeLessThanOrEqual(800);
    }
    await page.close();
  }, 60_000);

  // What the sign-in form shows on load, and every request the page made that failed.
  const signInForm = async (origin: string) => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const failed: string[] = [];
    page.on('response', (res) => {
      if (res.status() >= 400) failed.push(`${res.status()} ${res.url()}`);
    });
    await page.goto(origin);
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    const button = page.getByRole('button', { name: 'Use development token' });
    const shown = await button.isVisible();
    await context.close();
    return { shown, failed };
  };

  // The page a server serves, as a client that names the server `host` sees it.
  const pageAs = (host: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const req = request(`${app.http}/`, { headers: { host } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.end();
    });

  it('shows no development token button where its route does not exist: a configured JWT_SECRET, production', async () => {
    for (const [name, env] of [
      ['configured', {}],
      // As production runs it (a JWT_SECRET is required there).
      ['production', { NODE_ENV: 'production' }],
    ] as const) {
      const server = await Instance.start(name, databaseUrl, env);
      try {
        expect((await fetch(`${server.http}/api/dev-token`, { method: 'POST' })).status).toBe(404);
        // Not shown, and nothing was asked of the route to find that out.
        expect(await signInForm(server.http)).toEqual({ shown: false, failed: [] });
      } finally {
        await server.stop();
      }
    }
  }, 60_000);

  it('shows the button on a development server, to the machine it runs on, without a failing request', async () => {
    expect(await signInForm(proxy.origin)).toEqual({ shown: true, failed: [] });
    expect(await pageAs('localhost:3000')).toContain(
      'name="netra-development-tokens" content="on"',
    );
    // Under another name (a site rebinding its name to 127.0.0.1) the route answers 404: no offer.
    expect(await pageAs('evil.example')).toContain('name="netra-development-tokens" content="off"');
  });

  it('keeps the development token route out of the docs', async () => {
    const docs = (await (await fetch(`${app.http}/docs-json`)).json()) as { paths: object };
    expect(Object.keys(docs.paths)).not.toContain('/api/dev-token');
    expect((await fetch(`${app.http}/api/dev-token`, { method: 'POST' })).status).toBe(201);
  });
});
