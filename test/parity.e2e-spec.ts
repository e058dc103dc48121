import { RunEvent } from '../src/runs/run-event';
import { Channel, ChannelError, openChannel } from './support/channels';
import { startTestApp, TestApp } from './support/test-app';
import { types } from './support/event-types';

const CHANNELS = ['rest', 'ws'] as const;
const seqs = (events: RunEvent[]) => events.map((e) => e.seq);
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

// Each scenario runs over REST and over WebSocket; its outcome is recorded per channel, and the
// last block checks that both channels produced the same thing.
describe('parity: the same scenarios over REST and WebSocket', () => {
  let app: TestApp;
  const outcomes: Record<string, Record<string, unknown>> = { rest: {}, ws: {} };

  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app.close();
  });

  describe.each(CHANNELS)('over %s', (name) => {
    let alice: Channel;
    let mallory: Channel;
    beforeAll(async () => {
      alice = await openChannel(name, app, `alice-${name}`);
      mallory = await openChannel(name, app, `mallory-${name}`);
    });
    afterAll(async () => {
      await alice.close();
      await mallory.close();
    });

    it('starts a run and follows it to the end, with contiguous seqs and the stored result', async () => {
      const { started, events } = await alice.startAndFollow({ query: 'What is 17 * 23?' });
      expect(seqs(events)).toEqual(range(1, events.length));
      expect(
        events.every((e) => e.run_id === started.run_id && e.thread_id === started.thread_id),
      ).toBe(true);
      const completed = events[events.length - 1];
      expect(completed.type).toBe('agent_completed');
      expect(completed.data.answer).toContain('391');
      const tool = events.find((e) => e.type === 'tool_completed')!;
      expect(tool.data).toMatchObject({
        tool: 'calculator',
        result: { value: 391 },
        is_error: false,
      });

      const status = await alice.status(started.run_id);
      expect(status).toMatchObject({ status: 'complete', result: completed.data.answer });
      // The events endpoint returns exactly what was streamed.
      expect(await alice.events(started.run_id)).toEqual(events);
      outcomes[name].completed = { types: types(events), result: status.result };
    });

    it('a started run can be followed separately, from the stored log', async () => {
      const started = await alice.start({ query: 'What is 2 ^ 10?' });
      const events = await alice.follow(started.run_id);
      expect(types(events)[0]).toBe('agent_started');
      expect(events[events.length - 1].data.answer).toContain('1024');
    });

    it('cancels a running run: agent_cancelled is the last event and the status says cancelled', async () => {
      let cancelled: Promise<{ cancelled: boolean }> | undefined;
      const { started, events } = await alice.startAndFollow(
        { query: 'wait 30 seconds' },
        (e, run) => {
          if (e.type === 'tool_executing') cancelled = alice.cancel(run.run_id);
        },
      );
      expect(await cancelled).toMatchObject({ cancelled: true, status: 'cancelled' });
      expect(types(events)).toEqual([
        'agent_started',
        'agent_thinking',
        'tool_executing',
        'agent_cancelled',
      ]);
      expect(await alice.events(started.run_id)).toEqual(events); // nothing was written after it
      expect(await alice.status(started.run_id)).toMatchObject({ status: 'cancelled' });
      // Cancelling again changes nothing and says so.
      expect(await alice.cancel(started.run_id)).toMatchObject({
        cancelled: false,
        status: 'cancelled',
      });
      outcomes[name].cancelled = types(events);
    });

    it('cancelling a finished run leaves it complete', async () => {
      const { started } = await alice.startAndFollow({ query: 'What is 1 + 1?' });
      expect(await alice.cancel(started.run_id)).toMatchObject({
        cancelled: false,
        status: 'complete',
      });
      expect(await alice.status(started.run_id)).toMatchObject({ status: 'complete' });
    });

    it('keeps the thread history: each query and answer, in order, across runs', async () => {
      const first = await alice.startAndFollow({ query: 'What is 6 * 7?' });
      const second = await alice.sendMessage(first.started.thread_id, 'And 6 * 8?');
      expect(second.thread_id).toBe(first.started.thread_id);
      await alice.follow(second.run_id);
      const history = await alice.history(first.started.thread_id);
      expect(history.map((m) => [m.role, m.run_id])).toEqual([
        ['user', first.started.run_id],
        ['assistant', first.started.run_id],
        ['user', second.run_id],
        ['assistant', second.run_id],
      ]);
      expect(history[1].content).toContain('42');
      expect(history[3].content).toContain('48');
      outcomes[name].history = history.map((m) => [m.role, m.content]);
    });

    it('the same client id returns the same run, not a second one', async () => {
      const id = `retry-${name}`;
      const [first, concurrent] = await Promise.all([
        alice.start({ query: 'What is 3 + 4?', id }),
        alice.start({ query: 'What is 3 + 4?', id }),
      ]);
      expect(concurrent.run_id).toBe(first.run_id);
      // Ids belong to their user: mallory's same id is mallory's own run.
      const theirs = await mallory.start({ query: 'What is 3 + 4?', id });
      expect(theirs.replayed).toBe(false);
      expect(theirs.run_id).not.toBe(first.run_id);
      const again = await alice.start({ query: 'What is 3 + 4?', id });
      expect(again).toMatchObject({
        run_id: first.run_id,
        thread_id: first.thread_id,
        replayed: true,
      });
      await expect(alice.start({ query: 'Something else', id })).rejects.toMatchObject({
        code: 'idempotency_conflict',
      });
    });

    it('rejects bad input naming the field, and keeps working', async () => {
      await expect(alice.start({ query: '' })).rejects.toMatchObject({
        code: 'validation_failed',
        fields: ['query'],
      });
      await expect(alice.start({ query: 'x', bogus: true } as never)).rejects.toMatchObject({
        code: 'validation_failed',
        fields: ['bogus'],
      });
      await expect(alice.start({ query: 42 } as never)).rejects.toMatchObject({
        fields: ['query'],
      });
      const { events } = await alice.startAndFollow({ query: 'What is 5 - 8?' });
      expect(events[events.length - 1].data.answer).toContain('-3');
      outcomes[name].badInput = 'validation_failed';
    });

    it("answers another user's run and thread exactly like ones that do not exist", async () => {
      const { started } = await alice.startAndFollow({ query: 'What is 9 * 9?' });
      const missing = '00000000-0000-4000-8000-000000000000';
      for (const runId of [started.run_id, missing, 'not-a-uuid']) {
        await expect(mallory.status(runId)).rejects.toMatchObject({ code: 'not_found' });
        await expect(mallory.events(runId)).rejects.toMatchObject({ code: 'not_found' });
        await expect(mallory.cancel(runId)).rejects.toMatchObject({ code: 'not_found' });
        await expect(mallory.follow(runId)).rejects.toMatchObject({ code: 'not_found' });
      }
      for (const threadId of [started.thread_id, missing]) {
        await expect(mallory.history(threadId)).rejects.toMatchObject({ code: 'not_found' });
        await expect(mallory.getThread(threadId)).rejects.toMatchObject({ code: 'not_found' });
        await expect(mallory.renameThread(threadId, 'mine now')).rejects.toMatchObject({
          code: 'not_found',
        });
        await expect(mallory.deleteThread(threadId)).rejects.toMatchObject({ code: 'not_found' });
        await expect(mallory.threadRuns(threadId)).rejects.toMatchObject({ code: 'not_found' });
        await expect(mallory.sendMessage(threadId, 'hi')).rejects.toMatchObject({
          code: 'not_found',
        });
        await expect(mallory.start({ query: 'hi', thread_id: threadId })).rejects.toMatchObject({
          code: 'not_found',
        });
      }
      expect((await mallory.listThreads()).map((t) => t.id)).not.toContain(started.thread_id);
      // Alice's run and thread are untouched.
      expect(await alice.status(started.run_id)).toMatchObject({ status: 'complete' });
      expect((await alice.getThread(started.thread_id)).title).toBe('What is 9 * 9?');
      outcomes[name].foreign = 'not_found';
    });

    it('resumes after event k with exactly events k+1..end', async () => {
      const k = 3;
      const dropped: RunEvent[] = [];
      const started = await alice.start({ query: 'wait 200 ms then what is 4 * 4?' });
      // Drop the connection right after event k, as a flaky network would.
      const firstPart = await alice.follow(started.run_id, 0, (e) => {
        dropped.push(e);
        return e.seq === k;
      });
      expect(seqs(firstPart)).toEqual(range(1, k));
      const rest = await alice.follow(started.run_id, k);
      const all = await alice.events(started.run_id);
      expect(seqs(rest)).toEqual(range(k + 1, all.length));
      expect([...firstPart, ...rest]).toEqual(all);
      expect(all[all.length - 1].type).toBe('agent_completed');
    });
  });

  it('both channels produced the same events, results and errors', () => {
    expect(outcomes.ws).toEqual(outcomes.rest);
    expect(outcomes.rest.completed).toEqual({
      types: [
        'agent_started',
        'agent_thinking',
        'tool_executing',
        'tool_completed',
        'agent_thinking',
        'agent_response_chunk',
        'agent_completed',
      ],
      result: '17 * 23 = 391.',
    });
  });
});

export { ChannelError };
