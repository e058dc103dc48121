import { RestClient } from './support/rest-client';
import { readSse } from './support/sse-client';
import { startTestApp, TestApp } from './support/test-app';

// Messages sent back to back on one thread, as a chat client does.
describe('follow-up messages on one thread', () => {
  let app: TestApp;
  let api: RestClient;

  beforeAll(async () => {
    app = await startTestApp();
    api = new RestClient(app.http, await app.token('fola'));
  });
  afterAll(() => app.close());

  const newThread = async () => (await api.post('/api/threads', { title: 'back to back' })).body;
  const outcome = async (runId: string) => {
    const { events } = await readSse(`${app.http}/api/agent/${runId}/stream`, {
      token: api.token!,
    });
    const status = (await api.get(`/api/agent/${runId}/status`)).body;
    return { last: events[events.length - 1].type, status };
  };

  // The run's finishing transaction and a new run's creation once took the same locks in opposite
  // orders: retried 409s met a finishing run and deadlocked (500), and that run's answer was lost.
  it('with reject, answers only 202 or 409 while retrying at once, and every accepted run completes', async () => {
    const thread = await newThread();
    const statuses: number[] = [];
    const accepted: string[] = [];
    for (let i = 0; i < 30; i++) {
      for (;;) {
        const res = await api.post(`/api/threads/${thread.id}/messages`, {
          message: `what is ${i} + ${i}?`,
          multitask_strategy: 'reject',
        });
        statuses.push(res.status);
        if (res.status !== 409) {
          if (res.status === 202) accepted.push(res.body.run_id);
          break;
        }
      }
    }
    expect(statuses.filter((s) => s !== 202 && s !== 409)).toEqual([]);
    expect(accepted).toHaveLength(30);
    for (const runId of accepted) {
      expect(await outcome(runId)).toMatchObject({
        last: 'agent_completed',
        status: { status: 'complete' },
      });
    }
  });

  it('with enqueue (the default), accepts every message and runs them one after another, in order', async () => {
    const thread = await newThread();
    const started = [];
    for (let i = 0; i < 8; i++) {
      const res = await api.post(`/api/threads/${thread.id}/messages`, {
        message: `what is ${i} * 3?`,
      });
      expect(res.status).toBe(202);
      started.push(res.body);
    }
    // The first starts at once; the others wait their turn.
    expect(started.map((s) => s.status)).toEqual(['started', ...Array(7).fill('queued')]);
    const results = [];
    for (const s of started) results.push(await outcome(s.run_id));
    expect(results.map((r) => r.status.result)).toEqual(
      [0, 1, 2, 3, 4, 5, 6, 7].map((i) => `${i} * 3 = ${i * 3}.`),
    );
    // One after another: each started once the one before it had finished.
    const timing = (await api.get(`/api/threads/${thread.id}/runs?limit=100`)).body.items.reverse();
    for (let i = 1; i < timing.length; i++) {
      expect(Date.parse(timing[i].started_at)).toBeGreaterThanOrEqual(
        Date.parse(timing[i - 1].finished_at),
      );
    }
  });

  it('with enqueue, runs messages sent all at once one after another, in the order they queued', async () => {
    const thread = await newThread();
    // With keys, each request's transaction starts (taking its key) before it waits for the
    // thread: the order is the one in which they got the thread, not the one they began in.
    const started = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        api
          .post(
            `/api/threads/${thread.id}/messages`,
            { message: `what is ${i} + 1?` },
            {
              'idempotency-key': `burst-${thread.id}-${i}`,
            },
          )
          .then((res) => res.body),
      ),
    );
    expect(started.filter((s) => s.status === 'started')).toHaveLength(1);
    for (const s of started)
      expect(await outcome(s.run_id)).toMatchObject({ last: 'agent_completed' });
    const runs = (await api.get(`/api/threads/${thread.id}/runs?limit=100`)).body.items.reverse();
    expect(runs).toHaveLength(10);
    for (let i = 1; i < runs.length; i++) {
      expect(Date.parse(runs[i].started_at)).toBeGreaterThanOrEqual(
        Date.parse(runs[i - 1].finished_at),
      );
    }
    // Each answered its own question.
    for (const run of runs) {
      const n = Number(/what is (\d+)/.exec(run.query)![1]);
      expect(run.result).toBe(`${n} + 1 = ${n + 1}.`);
    }
  });
});
