import { Client } from 'pg';
import { RestClient } from './support/rest-client';
import { readSse } from './support/sse-client';
import { createDatabase, dropDatabase, startTestApp } from './support/test-app';
import { WsClient } from './support/ws-client';

// A run is stored, not held in memory: when the app stops mid-run, the next start continues it
// from its checkpoint, and a client resumes its stream where it left off.
describe('a run survives a restart of the app', () => {
  it('continues after the restart and the stream resumes with no gap', async () => {
    const databaseUrl = await createDatabase();
    const first = await startTestApp({ databaseUrl });
    const token = await first.token('ruth');
    const started = await new RestClient(first.http, token).post('/api/agent/run_agent', {
      query: 'wait 5 seconds',
    });
    const runId = started.body.run_id;
    const before = await readSse(`${first.http}/api/agent/${runId}/stream`, {
      token,
      onEvent: (e) => e.type === 'tool_executing',
    });
    await first.stop();

    const second = await startTestApp({ databaseUrl });
    try {
      const lastSeen = before.events[before.events.length - 1].seq;
      const after = await readSse(`${second.http}/api/agent/${runId}/stream`, {
        token,
        lastEventId: String(lastSeen),
      });
      expect(after.events[0].seq).toBe(lastSeen + 1);
      // The wait may have reported progress before the app stopped; then clients are told the run
      // was picked up again (and may drop that step's partial text), after the last event before.
      const resumedAt = after.events.findIndex((e) => e.type !== 'tool_progress');
      expect(after.events[resumedAt]).toMatchObject({
        type: 'agent_resumed',
        data: { after_seq: after.events[resumedAt].seq - 1 },
      });
      expect(after.events[after.events.length - 1].type).toBe('agent_completed');
      const all = (await new RestClient(second.http, token).get(`/api/agent/${runId}/events`)).body;
      expect([...before.events, ...after.events]).toEqual(all);
      // Every tool call a client saw start also ends: the interrupted one is closed, then rerun.
      const started = all.filter((e: any) => e.type === 'tool_executing').length;
      const completed = all.filter((e: any) => e.type === 'tool_completed');
      expect(completed).toHaveLength(started);
      expect(completed[0].data).toMatchObject({
        is_error: true,
        result: { error: expect.stringContaining('interrupted') },
      });
      const status = await new RestClient(second.http, token).get(`/api/agent/${runId}/status`);
      expect(status.body).toMatchObject({ status: 'complete', result: 'I waited 5 seconds.' });
    } finally {
      await second.stop();
      await dropDatabase(databaseUrl);
    }
  });
});

describe('runs an earlier version left behind', () => {
  it('get a job at the next start and finish', async () => {
    const databaseUrl = await createDatabase();
    const first = await startTestApp({ databaseUrl });
    const token = await first.token('una');
    await first.stop();
    // What a version without the queue left: a queued run with no job, mid-flight as it stopped.
    const db = new Client({ connectionString: databaseUrl });
    await db.connect();
    const [thread] = (
      await db.query(`INSERT INTO threads (user_id, title) VALUES ('una', 'old') RETURNING id`)
    ).rows;
    const [run] = (
      await db.query(
        `INSERT INTO runs (user_id, thread_id, query, status) VALUES ('una', $1, 'What is 5 * 5?', 'queued')
         RETURNING id`,
        [thread.id],
      )
    ).rows;
    await db.query(
      `INSERT INTO messages (user_id, thread_id, run_id, role, content)
       VALUES ('una', $1, $2, 'user', 'What is 5 * 5?')`,
      [thread.id, run.id],
    );
    await db.end();

    const second = await startTestApp({ databaseUrl });
    try {
      const { events } = await readSse(`${second.http}/api/agent/${run.id}/stream`, { token });
      expect(events.at(-1)).toMatchObject({
        type: 'agent_completed',
        data: { answer: '5 * 5 = 25.' },
      });
    } finally {
      await second.stop();
      await dropDatabase(databaseUrl);
    }
  });
});

describe('WebSocket connection lifecycle', () => {
  it('drops a socket that stops answering pings, and keeps one that answers', async () => {
    const app = await startTestApp({ env: { WS_HEARTBEAT_MS: '50' } });
    try {
      const token = await app.token('hana');
      const silent = await WsClient.connect(app.ws, { token, autoPong: false });
      const healthy = await WsClient.connect(app.ws, { token });
      expect((await silent.closed).code).toBe(1006); // terminated, no close handshake
      expect((await healthy.request('ping')).type).toBe('pong');
      await healthy.close();
    } finally {
      await app.close();
    }
  });

  it('closes sockets with 1001 (going away) when the app shuts down', async () => {
    const app = await startTestApp();
    const client = await WsClient.connect(app.ws, { token: await app.token('hana') });
    expect((await client.request('ping')).type).toBe('pong');
    await app.close();
    expect(await client.closed).toEqual({ code: 1001, reason: 'server shutting down' });
  });
});
