import { RunJournals } from '../../src/agents/fenced-run.journal';
import { ApprovalStore } from '../../src/approvals/approval.store';
import { RunCheckpointStore } from '../../src/runs/run-checkpoint.store';
import { RunEvent } from '../../src/runs/run-event';
import { EventInput } from '../../src/runs/run-event.log';
import { Run } from '../../src/runs/run.entity';
import { RunJob } from '../../src/runs/run.queue';
import { RunFencedError } from '../../src/runs/state-persistence.service';
import { runOf } from '../fixtures/agent-loop.fixture';
import { FakeRuns } from '../fixtures/fake-runs';
import { startRunsContext } from './runs-context';

// What a test needs of a world of runs, real or fake: the journals an executor uses, and what the
// owner does from another connection.
interface World {
  journals: RunJournals;
  queuedRun(): Promise<Run>;
  // The run's job as its worker holds it.
  job(run: Run): Promise<RunJob>;
  status(run: Run): Promise<string>;
  events(run: Run): Promise<RunEvent[]>;
  // The run's stored checkpoint, as the next claim reads it.
  checkpoint(run: Run): Promise<unknown>;
  // Tokens recorded for the run, by model.
  usage(run: Run): Promise<Record<string, { input_tokens: number; output_tokens: number }>>;
  cancel(run: Run): Promise<void>;
  answer(run: Run, callKey: string, decision: 'approved' | 'rejected'): Promise<void>;
  close(): Promise<void>;
}

function fakeWorld(): Promise<World> {
  const runs = new FakeRuns();
  return Promise.resolve({
    journals: runs,
    queuedRun: () => Promise.resolve(runs.addRun(runOf({ status: 'queued', userId: 'mia' }))),
    job: (run) => Promise.resolve(runs.job(run)),
    status: (run) => Promise.resolve(runs.row(run.id).status),
    events: (run) => Promise.resolve(runs.eventsOf(run.id)),
    checkpoint: (run) => Promise.resolve(runs.checkpointOf(run.id)),
    usage: (run) => Promise.resolve(runs.usageOf(run.id)),
    cancel: (run) => Promise.resolve(void runs.cancel(run.id)),
    answer: (run, key, decision) => Promise.resolve(runs.answer(run.id, key, decision)),
    close: () => Promise.resolve(),
  });
}

async function realWorld(): Promise<World> {
  const ctx = await startRunsContext();
  const approvals = ctx.app.get(ApprovalStore);
  return {
    journals: ctx.app.get(RunJournals),
    queuedRun: () => ctx.queuedRun(),
    job: (run) => ctx.fetchedJob(run),
    status: async (run) => (await ctx.row(run.id)).status,
    events: (run) => ctx.persistence.listEvents(run.userId, run.id, 0, 1000),
    checkpoint: (run) => ctx.app.get(RunCheckpointStore).load(run.userId, run.id),
    usage: async (run) => (await ctx.row(run.id)).usage,
    cancel: async (run) => {
      await ctx.persistence.cancel({ userId: run.userId, runId: run.id }, run, 'by user');
    },
    answer: (run, key, decision) =>
      ctx.persistence.atomically(async (tx) => {
        const interrupt = await approvals.findForCall(run.userId, run.id, key);
        const decided = await approvals.decide(
          tx.manager,
          run.userId,
          run.id,
          interrupt!.id,
          decision === 'approved' ? 'approve' : 'reject',
          undefined,
        );
        await ctx.persistence.resume(
          tx,
          { userId: run.userId, runId: run.id },
          await ctx.row(run.id),
          {
            type: 'approval_resolved',
            data: { call_id: decided!.callId, decision },
          },
        );
      }),
    close: () => ctx.close(),
  };
}

const started: EventInput = { type: 'agent_started', data: { agent: 'supervisor' } };
const thinking: EventInput = { type: 'agent_thinking', data: { text: 'hm', step: 1 } };

// The rules the executor relies on, held against the real journals (PostgreSQL) and the fake one
// the unit tests use, so the two cannot drift apart.
describe.each([
  ['FencedRunJournals (PostgreSQL)', realWorld],
  ['FakeRuns', fakeWorld],
])('%s', (_name, makeWorld) => {
  let world: World;
  beforeAll(async () => (world = await makeWorld()));
  afterAll(() => world.close());

  const claim = async (run: Run, job?: RunJob) => {
    const taken = await world.journals.claim(job ?? (await world.job(run)), () => started, 50);
    if (!taken) throw new Error('not claimed');
    return taken;
  };
  const types = async (run: Run) => (await world.events(run)).map((e) => e.type);

  it('starts a queued run on its first claim and resumes it on the next', async () => {
    const run = await world.queuedRun();
    const first = await claim(run);
    expect(first.resumed).toBe(false);
    expect(first.checkpoint).toBeNull();
    expect(first.run.status).toBe('running');
    expect(await world.status(run)).toBe('running');
    const second = await claim(run);
    expect(second.resumed).toBe(true);
    expect(second.run.attempt).toBe(first.run.attempt + 1);
    expect(await types(run)).toEqual(['agent_started']);
  });

  it('claims nothing for a run that ended or waits for a person', async () => {
    const ended = await world.queuedRun();
    await world.cancel(ended);
    expect(await world.journals.claim(await world.job(ended), () => started, 50)).toBeNull();

    const waiting = await world.queuedRun();
    const { journal } = await claim(waiting);
    await journal.pause({ v: 1 }, 2, {
      agentName: 'supervisor',
      tool: 'send',
      callKey: 'k',
      arguments: {},
    });
    expect(await world.journals.claim(await world.job(waiting), () => started, 50)).toBeNull();
  });

  it('refuses every write of an older claim once a newer one holds the run', async () => {
    const run = await world.queuedRun();
    const { journal: older } = await claim(run);
    await claim(run);
    const refusals: Promise<void>[] = [
      older.append(thinking),
      older.save({ stale: true }, 2),
      older.commitCall({ type: 'tool_completed', data: { call_id: 'c' } }, { stale: true }, 2),
      older.pause({}, 2, { agentName: 'supervisor', tool: 'send', callKey: 'k', arguments: {} }),
      older.complete('stale'),
    ];
    for (const refused of refusals) await expect(refused).rejects.toBeInstanceOf(RunFencedError);
    expect(await types(run)).toEqual(['agent_started']);
    expect(await world.checkpoint(run)).toBeNull();
    expect(await world.status(run)).toBe('running');
  });

  it("writes a model call's tokens with the next write, and refuses them with it", async () => {
    const run = await world.queuedRun();
    const { journal } = await claim(run);
    await journal.addUsage('m', { input: 2, output: 3 });
    await journal.addUsage('m', { input: 1, output: 1 });
    expect(await world.usage(run)).toEqual({});
    await journal.append(thinking);
    expect(await world.usage(run)).toEqual({ m: { input_tokens: 3, output_tokens: 4 } });

    const { journal: newer } = await claim(run);
    await journal.addUsage('m', { input: 100, output: 100 });
    await expect(journal.append(thinking)).rejects.toBeInstanceOf(RunFencedError);
    await newer.append(thinking);
    expect(await world.usage(run)).toEqual({ m: { input_tokens: 3, output_tokens: 4 } });
  });

  it('tells a journal its run was ended elsewhere, and refuses its writes after', async () => {
    const run = await world.queuedRun();
    const { journal } = await claim(run);
    const ended = new Promise<void>((resolve) => journal.watch(resolve));
    await world.cancel(run);
    await ended;
    await journal.addUsage('m', { input: 5, output: 5 });
    await expect(journal.append(thinking)).rejects.toBeInstanceOf(RunFencedError);
    await journal.addUsage('m', { input: 5, output: 5 });
    await expect(journal.complete('late')).rejects.toBeInstanceOf(RunFencedError);
    expect(await types(run)).toEqual(['agent_started', 'agent_cancelled']);
    // A refused end records none of its tokens: the run's totals stay what its end event says.
    expect(await world.usage(run)).toEqual({});
  });

  it('keeps a call and its checkpoint together, and the last event', async () => {
    const run = await world.queuedRun();
    const { journal } = await claim(run);
    await journal.append(thinking, { type: 'tool_executing', data: { call_id: 'c' } });
    await journal.commitCall({ type: 'tool_completed', data: { call_id: 'c' } }, { frames: 1 }, 2);
    expect(await world.checkpoint(run)).toEqual({ frames: 1 });
    expect(await journal.lastEvent()).toMatchObject({ type: 'tool_completed', seq: 4 });
    expect(await journal.lastEvent(['tool_completed'])).toMatchObject({
      type: 'tool_executing',
      seq: 3,
    });
    expect((await world.events(run)).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
  });

  it('pauses for an approval, and knows the answer once given', async () => {
    const run = await world.queuedRun();
    const { journal } = await claim(run);
    const request = {
      agentName: 'supervisor',
      tool: 'send',
      callKey: 'key-1',
      arguments: { to: 'bob' },
    };
    await journal.pause({ paused: true }, 2, request);
    expect(await world.status(run)).toBe('requires_action');
    const required = (await world.events(run)).at(-1);
    expect(required).toMatchObject({
      type: 'approval_required',
      data: { tool: 'send', call_id: 'key-1', arguments: { to: 'bob' } },
    });
    expect(await journal.decision('key-1')).toBeNull();
    await world.answer(run, 'key-1', 'approved');
    expect(await world.status(run)).toBe('running');
    const resumed = await claim(run);
    expect(resumed.resumed).toBe(true);
    expect(await resumed.journal.decision('key-1')).toEqual({ status: 'approved', message: null });
    // The claim hands the execution its checkpoint.
    expect(resumed.checkpoint).toEqual({ paused: true });
    expect(resumed.history).toEqual([]);
  });

  it('writes carried events first in the next write, whichever it is, and refuses them with it', async () => {
    const chunk = (text: string): EventInput => ({
      type: 'agent_response_chunk',
      data: { text, step: 1 },
    });
    const run = await world.queuedRun();
    const { journal } = await claim(run);
    journal.carry(chunk('a'));
    await journal.save({ v: 1 }, 2);
    journal.carry(chunk('b'));
    await journal.commitCall({ type: 'tool_completed', data: { call_id: 'c' } }, { v: 2 }, 2);
    journal.carry(chunk('c'));
    await journal.append(thinking);
    journal.carry(chunk('d'));
    await journal.complete('done');
    const texts = (await world.events(run)).map((e) => `${e.type}:${String(e.data.text ?? '')}`);
    expect(texts).toEqual([
      'agent_started:',
      'agent_response_chunk:a',
      'agent_response_chunk:b',
      'tool_completed:',
      'agent_response_chunk:c',
      'agent_thinking:hm',
      'agent_response_chunk:d',
      'agent_completed:',
    ]);

    const other = await world.queuedRun();
    const { journal: older } = await claim(other);
    await claim(other);
    older.carry(chunk('stale'));
    await expect(older.complete('stale')).rejects.toBeInstanceOf(RunFencedError);
    expect(await types(other)).toEqual(['agent_started']);
  });

  it('ends a run once, complete or failed', async () => {
    const done = await world.queuedRun();
    const { journal } = await claim(done);
    await journal.complete('4');
    expect(await world.status(done)).toBe('complete');
    await expect(journal.complete('again')).rejects.toBeInstanceOf(RunFencedError);

    const failed = await world.queuedRun();
    const { journal: failing } = await claim(failed);
    await failing.fail('it broke', 'agent_failed');
    expect(await world.status(failed)).toBe('failed');
    expect((await world.events(failed)).at(-1)).toMatchObject({
      type: 'agent_error',
      data: { message: 'it broke', code: 'agent_failed' },
    });
    await failing.fail('twice', 'agent_failed'); // a second failure writes nothing
    expect(await types(failed)).toEqual(['agent_started', 'agent_error']);
  });
});
