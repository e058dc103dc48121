import { DataSource } from 'typeorm';
import { Tx } from '../../src/database/transaction';
import { eventually } from '../support/eventually';
import { RunCheckpointStore } from '../../src/runs/run-checkpoint.store';
import { EventInput, RunEventLog } from '../../src/runs/run-event.log';
import { RunClaim } from '../../src/runs/run-fence';
import { RunSweeper } from '../../src/runs/run.sweeper';
import { ThreadStore } from '../../src/threads/thread.store';
import { Run } from '../../src/runs/run.entity';
import { RunsContext, startRunsContext } from './runs-context';

const thinking = (n: number): EventInput => ({ type: 'agent_thinking', data: { n } });

// The fence against the real database: every write of an executor carries its claim's attempt and
// is refused in the same statement once a newer claim exists; owners write without one.
describe('run fencing (SQL)', () => {
  let ctx: RunsContext;
  let db: DataSource;
  let log: RunEventLog;
  let checkpoints: RunCheckpointStore;

  beforeAll(async () => {
    ctx = await startRunsContext();
    db = ctx.app.get(DataSource);
    log = ctx.app.get(RunEventLog);
    checkpoints = ctx.app.get(RunCheckpointStore);
  });
  afterAll(() => ctx.close());

  // Takes the run as an executor's claim does (without its queue job).
  const claimIn = async (tx: Tx, runId: string) => {
    const runnable = await ctx.runs.lockRunnable(tx, 'mia', runId);
    return runnable ? ctx.runs.claim(tx, runnable) : null;
  };
  const reclaim = (run: Run) => ctx.persistence.atomically((tx) => claimIn(tx, run.id));

  // A claimed, running run, and the claim.
  const claimed = async (): Promise<{ run: Run; claim: RunClaim }> => {
    const queued = await ctx.queuedRun();
    const run = await reclaim(queued);
    const claim = { userId: 'mia', runId: queued.id, attempt: run!.attempt };
    await ctx.persistence.atomically((tx) =>
      log.write(tx, claim, { from: ['queued'], to: 'running' }, [thinking(0)]),
    );
    return { run: run!, claim };
  };
  const write = (claim: RunClaim, events: EventInput[]) =>
    ctx.persistence.atomically((tx) => log.write(tx, claim, { from: ['running'] }, events));

  it('refuses an event, a checkpoint, usage and a status change carrying a stale attempt', async () => {
    const { run, claim } = await claimed();
    const newer = await reclaim(run);
    expect(newer?.attempt).toBe(claim.attempt + 1);

    expect(await write(claim, [thinking(1)])).toEqual([]);
    expect(
      await ctx.persistence.atomically((tx) => checkpoints.save(tx, claim, { stale: true }, 2)),
    ).toBe(false);
    expect(
      await ctx.persistence.atomically((tx) =>
        ctx.runs.addUsage(tx, claim, 'm', { input: 1, output: 1 }),
      ),
    ).toBe(false);
    expect(
      await ctx.persistence.finish(
        claim,
        run,
        { from: ['running'], to: 'complete', result: 'stale' },
        [{ type: 'agent_completed', data: { answer: 'stale' } }],
      ),
    ).toBeNull();

    const row = await ctx.row(run.id);
    expect(row).toMatchObject({ status: 'running', lastSeq: 1, result: null, usage: {} });
    expect(await checkpoints.load('mia', run.id)).toBeNull();
    // The newer claim writes.
    const fresh = { ...claim, attempt: newer!.attempt };
    expect((await write(fresh, [thinking(1)])).map((e) => e.seq)).toEqual([2]);
    expect(
      await ctx.persistence.atomically((tx) => checkpoints.save(tx, fresh, { ok: 1 }, 2)),
    ).toBe(true);
  });

  it('refuses a stale write that waited for a claim committing meanwhile', async () => {
    const { run, claim } = await claimed();
    // A claim takes the row and has not committed when the older executor writes.
    const runner = db.createQueryRunner();
    await runner.connect();
    await runner.startTransaction();
    const claiming = await claimIn(new Tx(runner.manager), run.id);
    const stale = write(claim, [thinking(1)]);
    const staleSave = ctx.persistence.atomically((tx) => checkpoints.save(tx, claim, {}, 2));
    // Both wait on the claim's row lock before it commits.
    await eventually(
      () =>
        db
          .query<{ n: number }[]>(
            `SELECT count(*)::int AS n FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event_type = 'Lock'`,
          )
          .then(([row]) => row.n),
      (n) => n === 2,
      5_000,
      10,
    );
    await runner.commitTransaction();
    await runner.release();

    expect(claiming?.attempt).toBe(claim.attempt + 1);
    expect(await stale).toEqual([]);
    expect(await staleSave).toBe(false);
    expect((await ctx.row(run.id)).lastSeq).toBe(1);
  });

  it('does not let a worker whose fetch of the job was retried elsewhere take the run', async () => {
    const run = await ctx.queuedRun();
    const stalled = await ctx.fetchedJob(run);
    // The stalled worker's heartbeat lapsed: the job went back and another worker fetched it.
    await db.query(`UPDATE pgboss.job SET retry_count = retry_count + 1 WHERE id = $1`, [
      stalled.id,
    ]);
    expect(await ctx.persistence.claim(stalled, () => thinking(0), 50)).toBeNull();
    expect(await ctx.row(run.id)).toMatchObject({ status: 'queued', attempt: 0, lastSeq: 0 });
    const live = await ctx.fetchedJob(run);
    expect(await ctx.persistence.claim(live, () => thinking(0), 50)).toMatchObject({
      claim: { attempt: 1 },
      resumed: false,
    });
  });

  it('lets the owner cancel whatever claim holds the run, and then refuses the executor', async () => {
    const { run, claim } = await claimed();
    expect(
      await ctx.persistence.cancel({ userId: 'mia', runId: run.id }, run, 'by user'),
    ).not.toBeNull();
    expect(await write(claim, [thinking(1)])).toEqual([]);
    expect((await ctx.row(run.id)).status).toBe('cancelled');
  });

  it('refuses writes as another user', async () => {
    const { run, claim } = await claimed();
    expect(await write({ ...claim, userId: 'eve' }, [thinking(1)])).toEqual([]);
    expect(await ctx.persistence.cancel({ userId: 'eve', runId: run.id }, run, 'x')).toBeNull();
    expect((await ctx.row(run.id)).status).toBe('running');
  });

  it('keeps seqs contiguous under concurrent writers, several events a commit', async () => {
    const { run, claim } = await claimed();
    const written = await Promise.all(
      Array.from({ length: 20 }, (_, i) => write(claim, [thinking(i), thinking(i)])),
    );
    const seqs = written
      .flat()
      .map((e) => e.seq)
      .sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 40 }, (_, i) => i + 2));
    expect((await ctx.row(run.id)).lastSeq).toBe(41);
  });

  it('writes exactly one terminal event when a cancel and a completion race', async () => {
    const { run, claim } = await claimed();
    const results = await Promise.all([
      ctx.persistence.cancel({ userId: 'mia', runId: run.id }, run, 'by user'),
      ctx.persistence.finish(claim, run, { from: ['running'], to: 'complete', result: '4' }, [
        { type: 'agent_completed', data: { answer: '4' } },
      ]),
    ]);
    expect(results.filter((r) => r !== null)).toHaveLength(1);
    const events = await log.list('mia', run.id, 0, 100);
    const terminal = events.filter((e) => ['agent_cancelled', 'agent_completed'].includes(e.type));
    expect(terminal).toHaveLength(1);
    expect(events.at(-1)).toEqual(terminal[0]);
  });
});

// The net under the queue: a thread head that should have a live job and has none gets one.
describe('RunSweeper', () => {
  let ctx: RunsContext;
  let sweeper: RunSweeper;
  let db: DataSource;

  beforeAll(async () => {
    ctx = await startRunsContext();
    db = ctx.app.get(DataSource);
    sweeper = new RunSweeper(db, ctx.persistence, ctx.runs, ctx.app.get(ThreadStore));
  });
  afterAll(() => ctx.close());

  it('sends a job for a head left without one, or whose job ended without it, once', async () => {
    // A run from before the queue: queued, no job.
    const old = await ctx.queuedRun();
    await db.query('UPDATE runs SET job_id = NULL WHERE id = $1', [old.id]);
    // A running run whose job completed (a worker let go of it while it should not have).
    const orphan = await ctx.queuedRun();
    const job = await ctx.fetchedJob(orphan);
    await ctx.persistence.claim(job, () => thinking(0), 50);
    await db.query(`UPDATE pgboss.job SET state = 'completed' WHERE id = $1`, [job.id]);
    // A queued head whose job ended without it (deleted by retention, say).
    const dropped = await ctx.queuedRun();
    await db.query(`DELETE FROM pgboss.job WHERE id = $1`, [dropped.jobId]);
    // A run whose job failed for good long ago, and whose dead-letter handler never ended it.
    const spent = await ctx.queuedRun();
    await db.query(
      `UPDATE pgboss.job SET state = 'failed', completed_on = now() - interval '1 hour' WHERE id = $1`,
      [spent.jobId],
    );
    // Healthy ones are left alone: queued with its job, and one waiting for a person.
    const healthy = await ctx.queuedRun();
    const waiting = await ctx.queuedRun();
    await db.query(`UPDATE runs SET status = 'requires_action', job_id = NULL WHERE id = $1`, [
      waiting.id,
    ]);

    expect(await sweeper.sweep()).toBe(4);
    expect(await sweeper.sweep()).toBe(0);
    expect((await ctx.row(dropped.id)).jobId).not.toBe(dropped.jobId);
    expect(await ctx.row(spent.id)).toMatchObject({ status: 'failed' });
    const [{ n }] = await db.query<{ n: number }[]>(
      'SELECT count(*)::int AS n FROM pgboss.job WHERE id = $1',
      [spent.jobId],
    );
    expect(n).toBe(0); // no longer holding back its thread
    const [oldRow, orphanRow, healthyRow, waitingRow] = await Promise.all(
      [old, orphan, healthy, waiting].map((r) => ctx.row(r.id)),
    );
    expect(oldRow.jobId).not.toBeNull();
    expect(orphanRow.jobId).not.toBe(job.id);
    expect(healthyRow.jobId).toBe(healthy.jobId);
    expect(waitingRow.jobId).toBeNull();
    const states = await db.query<{ id: string; state: string }[]>(
      'SELECT id, state FROM pgboss.job WHERE id = ANY($1)',
      [[oldRow.jobId, orphanRow.jobId]],
    );
    expect(states.map((s) => s.state)).toEqual(['created', 'created']);
  });
});
