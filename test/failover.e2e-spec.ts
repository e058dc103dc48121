import { Client } from 'pg';
import { RunEvent, isTerminalEvent } from '../src/runs/run-event';
import { eventually } from './support/eventually';
import { startFakeOpenAi, textTurn } from './support/fake-llm-servers';
import { Instance, tokenFor } from './support/instance';
import { RestClient } from './support/rest-client';
import { createDatabase, dropDatabase } from './support/test-app';

interface RunRow {
  id: string;
  status: string;
  attempt: number;
}

// What every run must look like however its instances died: contiguous seqs, exactly one terminal
// event (the last), and no tool call that succeeded twice.
function checkLog(events: RunEvent[]): void {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  expect(events.filter((e) => isTerminalEvent(e.type))).toEqual([events.at(-1)]);
  const succeeded = events
    .filter((e) => e.type === 'tool_completed' && e.data.is_error === false)
    .map((e) => e.data.call_id);
  expect(new Set(succeeded).size).toBe(succeeded.length);
}

// Takeovers wait out a heartbeat (RUN_HEARTBEAT_SECONDS=10 in these instances).
jest.setTimeout(120_000);

describe('instances that die or leave', () => {
  let databaseUrl: string;
  let db: Client;
  const token = tokenFor('fern');
  const instances: Instance[] = [];

  beforeEach(async () => {
    databaseUrl = await createDatabase();
    db = new Client({ connectionString: databaseUrl });
    await db.connect();
  });
  afterEach(async () => {
    await db.end();
    await Promise.all(instances.splice(0).map((i) => i.stop()));
    await dropDatabase(databaseUrl);
  });

  const start = async (name: string, env: Record<string, string> = {}) => {
    const instance = await Instance.start(name, databaseUrl, env);
    instances.push(instance);
    return instance;
  };
  const startRuns = async (on: Instance, queries: string[]): Promise<string[]> => {
    const api = new RestClient(on.http, token);
    const ids = [];
    for (const query of queries)
      ids.push((await api.post('/api/agent/run_agent', { query })).body.run_id);
    return ids;
  };
  // Resolves once every run is inside its tool call.
  const executing = (ids: string[]) =>
    eventually(
      () =>
        db
          .query(
            `SELECT count(DISTINCT run_id)::int AS n FROM run_events WHERE type = 'tool_executing' AND run_id = ANY($1)`,
            [ids],
          )
          .then((r) => r.rows[0].n as number),
      (n) => n === ids.length,
      30_000,
    );
  const rows = (ids: string[]) =>
    db
      .query<RunRow>('SELECT id, status, attempt FROM runs WHERE id = ANY($1)', [ids])
      .then((r) => r.rows);
  const eventsOf = async (on: Instance, id: string): Promise<RunEvent[]> =>
    (await new RestClient(on.http, token).get(`/api/agent/${id}/events`)).body;

  it('finishes on the survivor every one of 20 runs whose instance was killed with -9', async () => {
    const a = await start('A', { WORKER_CONCURRENCY: '20' });
    const ids = await startRuns(
      a,
      // Longer than B takes to start on a busy machine (2-4 s), so A is killed mid-wait.
      Array.from({ length: 20 }, () => 'wait 10 seconds'),
    );
    await executing(ids);
    const b = await start('B');

    a.signal('SIGKILL');
    expect((await a.exited).signal).toBe('SIGKILL');
    const killedAt = Date.now();

    const done = await eventually(
      () => rows(ids),
      (all) => all.every((r) => r.status === 'complete'),
      90_000,
      250,
    );
    console.info(
      `20 runs of a killed instance finished on the survivor in ${Date.now() - killedAt} ms`,
    );
    expect(done.every((r) => r.attempt === 2)).toBe(true);
    for (const id of ids) {
      const events = await eventsOf(b, id);
      checkLog(events);
      // Picked up again: clients were told, and the interrupted wait ran again under its call id.
      expect(events.map((e) => e.type)).toContain('agent_resumed');
      const interrupted = events.find((e) => e.type === 'tool_completed' && e.data.is_error);
      const rerun = events.find((e) => e.type === 'tool_completed' && !e.data.is_error);
      expect(rerun?.data.call_id).toBe(interrupted?.data.call_id);
    }
  });

  it('kill -9 mid-answer: the survivor continues each answer where it stopped, its text streamed once', async () => {
    const fake = await startFakeOpenAi();
    try {
      const answer = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ') + '.';
      // The answers stream for about 9 s on A (longer than B takes to start on a busy machine); the
      // ones B gives again stream at once.
      fake.enqueue(...Array.from({ length: 20 }, () => textTurn(answer, { delayMs: 150 })));
      const llm = { LLM_PROVIDER: 'openai-compatible', LLM_BASE_URL: fake.baseURL, LLM_MODEL: 'f' };
      const a = await start('A', { ...llm, WORKER_CONCURRENCY: '20' });
      const ids = await startRuns(
        a,
        Array.from({ length: 20 }, () => 'Say sixty words'),
      );
      // Every run has streamed part of its answer, through A's group commits.
      await eventually(
        () =>
          db
            .query(
              `SELECT count(*)::int AS n FROM (SELECT run_id FROM run_events
               WHERE type = 'agent_response_chunk' AND run_id = ANY($1)
               GROUP BY run_id HAVING count(*) >= 2) r`,
              [ids],
            )
            .then((r) => r.rows[0].n as number),
        (n) => n === ids.length,
        30_000,
      );
      fake.enqueue(...Array.from({ length: 20 }, () => textTurn(answer)));
      const b = await start('B', llm);

      a.signal('SIGKILL');
      await a.exited;

      await eventually(
        () => rows(ids),
        (all) => all.every((r) => r.status === 'complete'),
        90_000,
        250,
      );
      for (const id of ids) {
        const events = await eventsOf(b, id);
        checkLog(events);
        // What a client that appends the streamed text shows: the answer, once.
        const streamed = events.filter((e) => e.type === 'agent_response_chunk');
        expect(streamed.map((e) => e.data.text).join('')).toBe(answer);
        const resumes = events.filter((e) => e.type === 'agent_resumed');
        expect(resumes.map((e) => e.data.partial)).toEqual(['kept']);
        expect(events.at(-1)?.data.answer).toBe(answer);
      }
    } finally {
      await fake.close();
    }
  });

  it('drains on SIGTERM: runs finish there or on another instance, none is left running', async () => {
    const a = await start('A', { SHUTDOWN_GRACE_MS: '2000' });
    const short = await startRuns(
      a,
      Array.from({ length: 5 }, () => 'wait 1 seconds'),
    );
    const long = await startRuns(
      a,
      // Longer than B's start and A's grace together, so these are handed back.
      Array.from({ length: 5 }, () => 'wait 12 seconds'),
    );
    await executing([...short, ...long]);
    const b = await start('B');
    // An SSE client on the leaving instance must not hold up its exit.
    const stream = await fetch(`${a.http}/api/agent/${long[0]}/stream`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const streamEnded = stream.text();

    a.signal('SIGTERM');
    const ready = await eventually(
      () => fetch(`${a.http}/health/ready`).then((r) => r.status),
      (status) => status === 503,
      2_000,
      20,
    );
    expect(ready).toBe(503);
    expect(await a.exited).toEqual({ code: 0, signal: null });
    await expect(streamEnded).resolves.toContain('event: tool_executing');

    const done = await eventually(
      () => rows([...short, ...long]),
      (all) => all.every((r) => r.status === 'complete'),
      60_000,
      250,
    );
    expect(done).toHaveLength(10);
    for (const id of short) {
      const events = await eventsOf(b, id);
      checkLog(events);
      expect(events.map((e) => e.type)).not.toContain('agent_resumed'); // finished on A
    }
    for (const id of long) {
      const events = await eventsOf(b, id);
      checkLog(events);
      expect(events.map((e) => e.type)).toContain('agent_resumed'); // handed back, finished on B
    }
  });
});
