import { mkdtempSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { EmbeddedDatabase, startEmbeddedDatabase } from '../src/config/embedded-database';
import { eventually } from './support/eventually';
import { freePort } from './support/free-port';
import { Instance, tokenFor } from './support/instance';
import { RestClient } from './support/rest-client';

const OUTAGE_MS = 20_000;
jest.setTimeout(OUTAGE_MS + 90_000);

// PostgreSQL goes away for 20 s under running runs: a cluster this test starts itself, on a private
// port (never the machine's shared one).
describe('a database outage', () => {
  let pg: EmbeddedDatabase;
  let app: Instance;

  beforeAll(async () => {
    const root = mkdtempSync(join(tmpdir(), 'netra-outage-'));
    chmodSync(root, 0o755); // the unprivileged postgres user must reach the data folder
    pg = await startEmbeddedDatabase({
      dataDir: join(root, 'data'),
      port: await freePort(),
      database: 'netra',
    });
    app = await Instance.start('A', pg.url);
  });
  afterAll(async () => {
    await app?.stop();
    await pg?.stop();
  });

  it('answers 503 within 2 s while down, never exits, and finishes the runs afterwards', async () => {
    const api = new RestClient(app.http, tokenFor('omar'));
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await api.post('/api/agent/run_agent', { query: 'wait 2 seconds' })).body.run_id);
    }
    const threads = (await api.get('/api/threads')).body.items;
    expect(threads).toHaveLength(3);

    await pg.stop();
    const down = Date.now();
    // Every call that needs the database is told so, quickly, with when to try again.
    for (const call of [
      () => api.get(`/api/agent/${ids[0]}/status`),
      () => api.get('/api/threads'),
      () => api.post('/api/agent/run_agent', { query: 'What is 1 + 1?' }),
      () => api.get(`/api/threads/${threads[0].id}`),
    ]) {
      const asked = Date.now();
      const res = await call();
      expect(Date.now() - asked).toBeLessThan(2_000);
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ code: 'unavailable' });
      expect(res.headers.get('retry-after')).toBe('2');
    }
    expect((await fetch(`${app.http}/health/ready`)).status).toBe(503);
    expect((await fetch(`${app.http}/health/live`)).status).toBe(200);

    // The outage lasts; the process stays up through it.
    await delay(OUTAGE_MS - (Date.now() - down));
    expect(app.child.exitCode).toBeNull();
    await pg.start();

    await eventually(
      () => fetch(`${app.http}/health/ready`).then((r) => r.status),
      (status) => status === 200,
      15_000,
      200,
    );
    // The runs accepted before the outage finish: the queue gives them back to a worker, which
    // continues each from its checkpoint.
    const statuses = await eventually(
      () =>
        Promise.all(ids.map((id) => api.get(`/api/agent/${id}/status`).then((r) => r.body.status))),
      (all) => all.every((s) => s === 'complete'),
      60_000,
      250,
    );
    expect(statuses).toEqual(['complete', 'complete', 'complete']);
    expect(app.output).not.toMatch(/Unhandled/);
    if (process.env.DUMP) console.log(app.output);
  });
});
