import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { isDatabaseUnavailable } from '../../src/database/db-errors';
import { Tx } from '../../src/database/transaction';
import { parsePayload, RUN_EVENTS_CHANNEL } from '../../src/runs/pg-run-event.bus';
import { RunEvent } from '../../src/runs/run-event';
import { RunEventRef } from '../../src/runs/run-event.bus';
import { RunEventGroupCommit } from '../../src/runs/run-event.group-commit';
import { EventInput, RunEventLog } from '../../src/runs/run-event.log';
import { RunClaim } from '../../src/runs/run-fence';
import { Run } from '../../src/runs/run.entity';
import { eventually } from '../support/eventually';
import { until } from '../support/until';
import { RunsContext, startRunsContext } from './runs-context';

const chunk = (text: string): EventInput => ({ type: 'agent_response_chunk', data: { text } });

// Group commit against the real database: many runs' events in one transaction and one statement,
// each run fenced on its own, one notifying commit, and nothing acknowledged that did not commit.
describe('group commit of run events (SQL)', () => {
  let ctx: RunsContext;
  let db: DataSource;
  let log: RunEventLog;
  let group: RunEventGroupCommit;
  let listener: Client;
  const heard: RunEventRef[] = [];
  const notes: { pid: number; refs: RunEventRef[] }[] = [];

  beforeAll(async () => {
    ctx = await startRunsContext();
    db = ctx.app.get(DataSource);
    log = ctx.app.get(RunEventLog);
    group = ctx.app.get(RunEventGroupCommit);
    listener = new Client({ connectionString: process.env.DATABASE_URL });
    await listener.connect();
    listener.on('notification', (message) => {
      const refs = parsePayload(message.payload);
      notes.push({ pid: message.processId, refs });
      heard.push(...refs);
    });
    await listener.query(`LISTEN ${RUN_EVENTS_CHANNEL}`);
  });
  afterAll(async () => {
    await listener.end();
    await ctx.close();
  });

  const claimIn = async (tx: Tx, runId: string) => {
    const runnable = await ctx.runs.lockRunnable(tx, 'mia', runId);
    return ctx.runs.claim(tx, runnable!);
  };

  // A claimed, running run, and the claim.
  const claimed = async (): Promise<{ run: Run; claim: RunClaim }> => {
    const queued = await ctx.queuedRun();
    const run = await ctx.persistence.atomically((tx) => claimIn(tx, queued.id));
    const claim = { userId: 'mia', runId: run.id, attempt: run.attempt };
    await ctx.persistence.atomically((tx) =>
      log.write(tx, claim, { from: ['queued'], to: 'running' }, [chunk('started')]),
    );
    return { run, claim };
  };

  const eventsOf = (run: Run): Promise<RunEvent[]> =>
    ctx.persistence.listEvents('mia', run.id, 0, 1000);

  it("writes many runs' events in one transaction, each run's seqs contiguous, with one notification", async () => {
    const runs = await Promise.all(Array.from({ length: 30 }, () => claimed()));
    const entries = runs.map(({ claim }, i) => ({
      claim,
      events: [chunk(`a${i}`), chunk(`b${i}`), chunk(`c${i}`)],
    }));

    const written = await ctx.persistence.atomically((tx) => log.writeBatch(tx, entries));

    expect(written.map((events) => events.map((e) => [e.seq, e.data.text]))).toEqual(
      runs.map((_, i) => [
        [2, `a${i}`],
        [3, `b${i}`],
        [4, `c${i}`],
      ]),
    );
    for (const { run } of runs) {
      expect((await eventsOf(run)).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
      expect((await ctx.row(run.id)).lastSeq).toBe(4);
    }
    const ours = new Set(runs.map(({ run }) => run.id));
    const batchNotes = () =>
      notes.filter((n) => n.refs.some((r) => ours.has(r.run_id) && r.seq === 4));
    await until(() => batchNotes().flatMap((n) => n.refs).length >= 30);
    // As many payloads as the events need (each under PostgreSQL's limit), sent by one statement
    // of one transaction: PostgreSQL's notification lock is taken once for the commit.
    expect(new Set(batchNotes().map((n) => n.pid)).size).toBe(1);
    expect(batchNotes().length).toBeLessThanOrEqual(4);
    const refs = batchNotes().flatMap((n) => n.refs);
    expect(refs.map((ref) => [ref.run_id, ref.seq])).toEqual(runs.map(({ run }) => [run.id, 4]));
    expect(refs[0].events).toEqual(written[0]);
  });

  it("refuses a stale attempt's events in the same commit as its successor's, and keeps the successor's", async () => {
    const { run, claim: stale } = await claimed();
    const other = await claimed();
    const newer = await ctx.persistence.atomically((tx) => claimIn(tx, run.id));
    const current = { ...stale, attempt: newer.attempt };

    const [staleWritten, otherWritten] = await ctx.persistence.atomically((tx) =>
      log.writeBatch(tx, [
        { claim: stale, events: [chunk('stale')] },
        { claim: other.claim, events: [chunk('other')] },
      ]),
    );
    const appended = await Promise.all([
      group.append({ claim: stale, events: [chunk('stale again')] }),
      group.append({ claim: current, events: [chunk('successor')] }),
    ]);

    expect(staleWritten).toEqual([]);
    expect(otherWritten.map((e) => e.data.text)).toEqual(['other']);
    expect(appended.map((events) => events.map((e) => e.data.text))).toEqual([[], ['successor']]);
    expect((await eventsOf(run)).map((e) => [e.seq, e.data.text])).toEqual([
      [1, 'started'],
      [2, 'successor'],
    ]);
  });

  it('adds the tokens of an entry to its run in the same statement, refused with it', async () => {
    const { run, claim } = await claimed();
    await group.append({ claim, events: [chunk('x')], usage: { m: { input: 2, output: 3 } } });
    await group.append({
      claim,
      events: [chunk('y')],
      usage: { m: { input: 1, output: 1 }, n: { input: 5, output: 0 } },
    });
    await group.append({
      claim: { ...claim, attempt: claim.attempt - 1 },
      events: [chunk('stale')],
      usage: { m: { input: 100, output: 100 } },
    });

    expect((await ctx.row(run.id)).usage).toEqual({
      m: { input_tokens: 3, output_tokens: 4 },
      n: { input_tokens: 5, output_tokens: 0 },
    });
  });

  it('commits the first entry of an idle writer at once, and what arrives meanwhile together', async () => {
    const runs = await Promise.all(Array.from({ length: 40 }, () => claimed()));
    const batches = jest.spyOn(log, 'writeBatch');
    try {
      await Promise.all(
        runs.map(({ claim }, i) => group.append({ claim, events: [chunk(`n${i}`)] })),
      );
      expect(batches.mock.calls.map(([, entries]) => entries.length)).toEqual([1, 39]);
    } finally {
      batches.mockRestore();
    }
    for (const { run } of runs) expect(await eventsOf(run)).toHaveLength(2);
  });

  it('says it is busy while a commit is in flight or due, and idle once it is done', async () => {
    const [a, b] = await Promise.all([claimed(), claimed()]);
    expect(group.busy()).toBe(false);
    const first = group.append({ claim: a.claim, events: [chunk('a')] });
    expect(group.busy()).toBe(true); // in flight
    const second = group.append({ claim: b.claim, events: [chunk('b')] });
    await first;
    expect(group.busy()).toBe(true); // the second is due
    await second;
    expect(group.busy()).toBe(false);
  });

  it("writes a run's several waiting appends as one entry, each append getting its own events", async () => {
    const { run, claim } = await claimed();
    const warm = await claimed();
    await group.append({ claim: warm.claim, events: [chunk('warm')] });
    const batches = jest.spyOn(log, 'writeBatch');
    try {
      // Within the interval after a commit: all three wait for the same next commit.
      const appended = await Promise.all([
        group.append({ claim, events: [chunk('a')], usage: { m: { input: 1, output: 1 } } }),
        group.append({ claim, events: [chunk('b'), chunk('c')] }),
        group.append({ claim, events: [chunk('d')], usage: { m: { input: 2, output: 0 } } }),
      ]);
      expect(appended.map((events) => events.map((e) => [e.seq, e.data.text]))).toEqual([
        [[2, 'a']],
        [
          [3, 'b'],
          [4, 'c'],
        ],
        [[5, 'd']],
      ]);
      expect(batches.mock.calls.map(([, entries]) => entries.length)).toEqual([1]);
    } finally {
      batches.mockRestore();
    }
    expect((await ctx.row(run.id)).usage).toEqual({ m: { input_tokens: 3, output_tokens: 1 } });
  });

  it('fails only the run whose entry PostgreSQL refuses, and writes the others of its commit', async () => {
    const bad = await claimed();
    const good = await claimed();
    const warm = await claimed();
    await group.append({ claim: warm.claim, events: [chunk('warm')] });
    const batches = jest.spyOn(log, 'writeBatch');

    const [refused, written] = await Promise.all([
      // jsonb has no NUL character.
      group.append({ claim: bad.claim, events: [chunk('nul \u0000 here')] }).then(
        () => null,
        (err: unknown) => err,
      ),
      group.append({ claim: good.claim, events: [chunk('fine')] }),
    ]);

    // Tried together, then each alone.
    expect(batches.mock.calls.map(([, entries]) => entries.length)).toEqual([2, 1, 1]);
    batches.mockRestore();
    expect(refused).toBeInstanceOf(Error);
    expect(isDatabaseUnavailable(refused)).toBe(false);
    expect(written.map((e) => e.data.text)).toEqual(['fine']);
    expect(await eventsOf(bad.run)).toHaveLength(1);
  });

  it('refuses the entry of a run cancelled while the commit waited for its row, and writes the others', async () => {
    const { run, claim } = await claimed();
    const other = await claimed();
    const blocker = new Client({ connectionString: process.env.DATABASE_URL });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query(
        `UPDATE runs SET status = 'cancelled', finished_at = now() WHERE id = $1`,
        [run.id],
      );
      const appended = Promise.all([
        group.append({ claim, events: [chunk('late')] }),
        group.append({ claim: other.claim, events: [chunk('fine')] }),
      ]);
      await waitForLockWait(db);
      await blocker.query('COMMIT');

      const [cancelled, kept] = await appended;
      expect(cancelled).toEqual([]);
      expect(kept.map((e) => e.data.text)).toEqual(['fine']);
      expect(await eventsOf(run)).toHaveLength(1);
    } finally {
      await blocker.end();
    }
  });

  it('fails every append of a commit the database dropped, and writes none of them', async () => {
    const { run, claim } = await claimed();
    const other = await claimed();
    const warm = await claimed();
    const blocker = new Client({ connectionString: process.env.DATABASE_URL });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT id FROM runs WHERE id = $1 FOR UPDATE', [run.id]);
      // A commit just made: the two appends below wait for the interval and go in one commit.
      await group.append({ claim: warm.claim, events: [chunk('warm')] });
      const appended = [
        group.append({ claim, events: [chunk('lost')] }),
        group.append({ claim: other.claim, events: [chunk('lost too')] }),
      ].map((p) =>
        p.then(
          () => null,
          (err: unknown) => err,
        ),
      );
      const pid = await waitForLockWait(db);
      await db.query('SELECT pg_terminate_backend($1)', [pid]);
      await blocker.query('ROLLBACK');

      for (const err of await Promise.all(appended)) {
        expect(isDatabaseUnavailable(err)).toBe(true);
      }
      expect(await eventsOf(run)).toHaveLength(1);
      expect(await eventsOf(other.run)).toHaveLength(1);
      // The writer carries on with the next commit.
      const [again] = await Promise.all([group.append({ claim, events: [chunk('again')] })]);
      expect(again.map((e) => e.seq)).toEqual([2]);
    } finally {
      await blocker.end();
    }
  });

  it('names a run whose events do not fit in a notification by its seq, for followers to read', async () => {
    const { run, claim } = await claimed();

    await group.append({ claim, events: [chunk('x'.repeat(9_000))] });

    await until(() => heard.some((ref) => ref.run_id === run.id && ref.seq === 2));
    expect(heard.find((ref) => ref.run_id === run.id && ref.seq === 2)).toEqual({
      run_id: run.id,
      seq: 2,
    });
  });
});

// The pid of the group commit waiting for a row lock.
async function waitForLockWait(db: DataSource): Promise<number> {
  const rows = await eventually(
    () =>
      db.query<{ pid: number }[]>(
        `SELECT pid FROM pg_stat_activity
         WHERE datname = current_database() AND wait_event_type = 'Lock'
           AND query LIKE '%jsonb_array_elements%'`,
      ),
    (found) => found.length === 1,
    5_000,
  );
  return rows[0].pid;
}
