import { DataSource } from 'typeorm';
import { Run } from '../../src/runs/run.entity';
import { RunsContext, startRunsContext } from './runs-context';

// RunStore maps its rows by hand (the run path, without TypeORM's query building): it must load
// exactly what the entity mapping loads, for every column.
describe('RunStore (real PostgreSQL)', () => {
  let ctx: RunsContext;
  let db: DataSource;
  beforeAll(async () => {
    ctx = await startRunsContext();
    db = ctx.app.get(DataSource);
  });
  afterAll(() => ctx?.close());

  it('loads a run by id exactly as the entity mapping does, every column set', async () => {
    const run = await ctx.queuedRun('mia');
    await db.query(
      `UPDATE runs SET client_run_id = 'mine-1', model = 'm', usage = '{"m":{"input_tokens":3,"output_tokens":4}}',
       result = 'r', error = 'e', last_seq = 7, attempt = 2, started_at = now(), finished_at = now()
       WHERE id = $1`,
      [run.id],
    );
    const expected = await db.getRepository(Run).findOneByOrFail({ id: run.id });
    const found = await ctx.runs.findByRef('mia', run.id);
    expect(found).toBeInstanceOf(Run);
    expect(found).toEqual(expected);
    expect(await ctx.runs.findByRef('mia', 'mine-1')).toEqual(expected);
  });

  it("finds nothing of another user's, by id or by client id", async () => {
    const run = await ctx.queuedRun('mia');
    await db.query(`UPDATE runs SET client_run_id = 'mine-2' WHERE id = $1`, [run.id]);
    expect(await ctx.runs.findByRef('bob', run.id)).toBeNull();
    expect(await ctx.runs.findByRef('bob', 'mine-2')).toBeNull();
    expect(await ctx.runs.findByRef('mia', 'nope')).toBeNull();
  });

  it('takes a client id that looks like a uuid when no run has that id', async () => {
    const run = await ctx.queuedRun('mia');
    const lookalike = '00000000-0000-4000-8000-000000000001';
    await db.query(`UPDATE runs SET client_run_id = $2 WHERE id = $1`, [run.id, lookalike]);
    expect((await ctx.runs.findByRef('mia', lookalike))?.id).toBe(run.id);
  });

  it('inserts, lists, locks and claims runs as the entity mapping loads them', async () => {
    const first = await ctx.queuedRun('mia');
    const loaded = () => db.getRepository(Run).findOneByOrFail({ id: first.id });
    expect(first).toBeInstanceOf(Run);
    expect(first).toEqual(await loaded());

    const second = await ctx.persistence.atomically((tx) =>
      ctx.runs.insert(tx, {
        userId: 'mia',
        threadId: first.threadId,
        clientRunId: 'c-2',
        query: 'And then?',
        agent: 'researcher',
        model: 'm',
        webhookUrl: 'https://example.com/hook',
      }),
    );
    expect(second).toEqual(await db.getRepository(Run).findOneByOrFail({ id: second.id }));

    await ctx.persistence.atomically(async (tx) => {
      const active = await ctx.runs.activeOnThread(tx, 'mia', first.threadId);
      expect(active.map((r) => r.id)).toEqual([first.id, second.id]);
      expect(await ctx.runs.activeOnThread(tx, 'bob', first.threadId)).toEqual([]);
      expect(await ctx.runs.countActive(tx, 'mia')).toBeGreaterThanOrEqual(2);
      expect(await ctx.runs.countActive(tx, 'nobody')).toBe(0);
      const locked = await ctx.runs.lockRunnable(tx, 'mia', first.id);
      expect(locked).toEqual(await loaded());
      expect(await ctx.runs.lockRunnable(tx, 'bob', first.id)).toBeNull();
      const claimed = await ctx.runs.claim(tx, locked!);
      expect(claimed.attempt).toBe(first.attempt + 1);
    });
    expect((await loaded()).attempt).toBe(first.attempt + 1);
  });
});
