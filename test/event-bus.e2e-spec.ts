import { Client } from 'pg';
import { RUN_EVENTS_CHANNEL } from '../src/runs/pg-run-event.bus';
import { eventually } from './support/eventually';
import { RestClient } from './support/rest-client';
import { readSse } from './support/sse-client';
import { startTestApp, TestApp } from './support/test-app';

// The bus's listening connection drops (a failover, an idle timeout in a proxy): it reconnects by
// itself, and what was announced while it was away is read from the log.
describe('the event listener connection', () => {
  let app: TestApp;
  let db: Client;
  // On the server's admin database: it may refuse connections to the app's database.
  let admin: Client;
  let database: string;
  let api: RestClient;

  beforeAll(async () => {
    app = await startTestApp();
    database = new URL(app.databaseUrl).pathname.slice(1);
    db = new Client({ connectionString: app.databaseUrl });
    admin = new Client({ connectionString: process.env.TEST_ADMIN_DATABASE_URL });
    await Promise.all([db.connect(), admin.connect()]);
    api = new RestClient(app.http, await app.token('lea'));
  });
  afterAll(async () => {
    await admin.query(`ALTER DATABASE ${database} WITH ALLOW_CONNECTIONS true`);
    await Promise.all([db.end(), admin.end()]);
    await app.close();
  });

  const listeners = () =>
    admin
      .query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = 'netra-listener'`,
        [database],
      )
      .then((r) => r.rows.map((row) => row.pid));

  it('reconnects when its connection is killed, and followers read what it missed', async () => {
    const started = await api.post('/api/agent/run_agent', { query: 'wait 30 seconds' });
    const runId = started.body.run_id;
    let cut!: () => void;
    const executing = new Promise<void>((resolve) => (cut = resolve));
    const sse = readSse(`${app.http}/api/agent/${runId}/stream`, {
      token: api.token!,
      onEvent: (e) => void (e.type === 'tool_executing' && cut()),
    });
    await executing;
    await api.get('/api/threads'); // the pool holds connections for the cancel below

    // The listener is cut and cannot come back while the database refuses new connections: the
    // cancel is announced to nobody.
    const [before] = await listeners();
    await admin.query(`ALTER DATABASE ${database} WITH ALLOW_CONNECTIONS false`);
    await admin.query('SELECT pg_terminate_backend($1)', [before]);
    await eventually(listeners, (pids) => pids.length === 0, 5_000);
    const cancelled = await api.post(`/api/agent/${runId}/cancel`);
    expect(cancelled.body).toMatchObject({ cancelled: true });

    const allowed = Date.now();
    await admin.query(`ALTER DATABASE ${database} WITH ALLOW_CONNECTIONS true`);
    const { events } = await sse;
    // Well before the feeds' own periodic re-read (10 s): the reconnect made them read the log.
    expect(Date.now() - allowed).toBeLessThan(5_000);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.at(-1)?.type).toBe('agent_cancelled');
    const after = await eventually(listeners, (pids) => pids.length === 1, 5_000);
    expect(after).not.toContain(before);
    // The executor heard of it too: its job completed.
    const job = await eventually(
      () =>
        db
          .query(
            `SELECT j.state FROM runs r JOIN pgboss.job j ON j.id = r.job_id WHERE r.id = $1`,
            [runId],
          )
          .then((r) => r.rows[0]?.state as string | undefined),
      (state) => state === 'completed',
      5_000,
    );
    expect(job).toBe('completed');
  });

  it('ignores a notification that is not an event reference', async () => {
    await db.query(`SELECT pg_notify($1, 'not-a-ref')`, [RUN_EVENTS_CHANNEL]);
    const started = await api.post('/api/agent/run_agent', { query: 'What is 3 * 3?' });
    const { events } = await readSse(`${app.http}/api/agent/${started.body.run_id}/stream`, {
      token: api.token!,
    });
    expect(events.at(-1)?.type).toBe('agent_completed');
  });
});
