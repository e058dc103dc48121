import { DataSource } from 'typeorm';
import { Tx } from '../../src/database/transaction';
import { eventually } from '../support/eventually';
import { RunCheckpointStore } from '../../src/runs/run-checkpoint.store';
import { EventInput, RunEventLog } from '../../src/runs/run-event.log';
import { RunClaim } from '../../src/runs/run-fence';
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

  // A claimed, running run, and the claim.
  const claimed = async (): Promise<{ run: Run; claim: RunClaim }> => {
    const queued = await ctx.queuedRun();
    const run = await ctx.persistence.atomically((tx) => ctx.runs.claim(tx, 'mia', queued.id));
    const claim = { userId: 'mia', runId: queued.id, attempt: run!.attempt };
    await ctx.persistence.atomically((tx) =>
      log.write(tx, claim, { from: ['queued'], to: 'running' }, [thinking(0)]),
    );
    return { run: run!, claim };
  };
  const reclaim = (run: Run) =>
    ctx.persistence.atomically((tx) => ctx.runs.claim(tx, 'mia', run.id));
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
        { type: 'agent_completed', data: { answer: 'stale' } },
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
    const claiming = await ctx.runs.claim(new Tx(runner.manager), 'mia', run.id);
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
      ctx.persistence.finish(
        claim,
        run,
        { from: ['running'], to: 'complete', result: '4' },
        { type: 'agent_completed', data: { answer: '4' } },
      ),
    ]);
    expect(results.filter((r) => r !== null)).toHaveLength(1);
    const events = await log.list('mia', run.id, 0, 100);
    const terminal = events.filter((e) => ['agent_cancelled', 'agent_completed'].includes(e.type));
    expect(terminal).toHaveLength(1);
    expect(events.at(-1)).toEqual(terminal[0]);
  });
});
