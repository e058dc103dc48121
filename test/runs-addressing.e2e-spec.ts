import { randomUUID } from 'node:crypto';
import { RestClient } from './support/rest-client';
import { Channel, ChannelError, openChannel } from './support/channels';
import { ExtensionsModule } from './support/extensions.module';
import { startTestApp, TestApp } from './support/test-app';
import { WsClient } from './support/ws-client';

const CHANNELS = ['rest', 'ws'] as const;

async function failure(call: Promise<unknown>): Promise<ChannelError> {
  try {
    await call;
  } catch (err) {
    if (err instanceof ChannelError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}

// multitask_strategy, Idempotency-Key and runs named by the caller's own id: the same behaviour
// over both channels, through the same service calls.
describe.each(CHANNELS)('over %s', (name) => {
  let app: TestApp;
  let channel: Channel;

  beforeAll(async () => {
    app = await startTestApp({ imports: [ExtensionsModule] });
    channel = await openChannel(name, app, `ada-${name}`);
  });
  afterAll(async () => {
    await channel.close();
    await app.close();
  });

  const busyThread = async () => {
    const first = await channel.start({ query: 'wait 30 seconds' });
    await channel.follow(first.run_id, 0, (e) => e.type === 'tool_executing');
    return first;
  };

  describe('multitask_strategy', () => {
    it('reject: a second run on a busy thread is thread_busy', async () => {
      const first = await busyThread();
      const refused = await failure(
        channel.start({
          query: 'What is 1 + 1?',
          thread_id: first.thread_id,
          multitask_strategy: 'reject',
        }),
      );
      expect(refused.code).toBe('thread_busy');
      expect((await channel.threadRuns(first.thread_id)).map((r) => r.run_id)).toEqual([
        first.run_id,
      ]);
      await channel.cancel(first.run_id);
    });

    it('enqueue (the default): it waits its turn, then runs', async () => {
      const first = await channel.start({ query: 'wait 1 seconds' });
      const second = await channel.sendMessage(first.thread_id, 'What is 6 * 7?');
      expect(second.status).toBe('queued');
      const events = await channel.follow(second.run_id);
      expect(events.at(-1)).toMatchObject({
        type: 'agent_completed',
        data: { answer: '6 * 7 = 42.' },
      });
      const [firstStatus, secondStatus] = await Promise.all([
        channel.status(first.run_id),
        channel.status(second.run_id),
      ]);
      expect(firstStatus.status).toBe('complete');
      expect(Date.parse((secondStatus as any).started_at)).toBeGreaterThanOrEqual(
        Date.parse((firstStatus as any).finished_at),
      );
    });

    it('interrupt: the run in progress is cancelled and the new one runs', async () => {
      const first = await busyThread();
      const second = await channel.start({
        query: 'What is 2 + 5?',
        thread_id: first.thread_id,
        multitask_strategy: 'interrupt',
      });
      expect(second.status).toBe('started');
      expect((await channel.follow(second.run_id)).at(-1)?.type).toBe('agent_completed');
      expect(await channel.status(first.run_id)).toMatchObject({
        status: 'cancelled',
        error: 'interrupted by a newer run',
      });
      expect((await channel.events(first.run_id)).at(-1)?.type).toBe('agent_cancelled');
    });

    it('names a bad strategy', async () => {
      const refused = await failure(
        channel.start({ query: 'x', multitask_strategy: 'later' as any }),
      );
      expect(refused).toMatchObject({ code: 'validation_failed', fields: ['multitask_strategy'] });
    });
  });

  describe('idempotency keys', () => {
    it('creates one run for twenty concurrent starts with one key, each answered the same', async () => {
      const thread = await channel.createThread('idem');
      const key = randomUUID();
      const answers = await Promise.all(
        Array.from({ length: 20 }, () =>
          channel.start({ query: 'What is 3 + 3?', thread_id: thread.id, idempotency_key: key }),
        ),
      );
      for (const answer of answers) expect(answer).toEqual(answers[0]);
      expect(await channel.threadRuns(thread.id)).toHaveLength(1);
      // Later, the same request still gets the first answer.
      expect(
        await channel.start({
          query: 'What is 3 + 3?',
          thread_id: thread.id,
          idempotency_key: key,
        }),
      ).toEqual(answers[0]);
    });

    it('refuses the same key for another request with idempotency_conflict', async () => {
      const key = randomUUID();
      await channel.start({ query: 'What is 1 + 2?', idempotency_key: key });
      const refused = await failure(
        channel.start({ query: 'What is 9 + 9?', idempotency_key: key }),
      );
      expect(refused.code).toBe('idempotency_conflict');
    });

    it('keeps a message, a thread and an approval answer to one each', async () => {
      const key = randomUUID();
      const threads = await Promise.all(
        Array.from({ length: 20 }, () => channel.createThread('one thread', key)),
      );
      expect(new Set(threads.map((t) => t.id)).size).toBe(1);
      expect((await channel.listThreads()).filter((t) => t.id === threads[0].id)).toHaveLength(1);

      const messageKey = randomUUID();
      const sent = await Promise.all(
        Array.from({ length: 20 }, () =>
          channel.sendMessage(
            threads[0].id,
            'use send_email {"to": "a@example.com", "subject": "hi"}',
            {
              idempotency_key: messageKey,
            },
          ),
        ),
      );
      expect(new Set(sent.map((s) => s.run_id)).size).toBe(1);
      expect(await channel.threadRuns(threads[0].id)).toHaveLength(1);

      const events = await channel.follow(sent[0].run_id, 0, (e) => e.type === 'approval_required');
      const interruptId = events.at(-1)!.data.interrupt_id as string;
      const approvalKey = randomUUID();
      const answers = await Promise.all(
        Array.from({ length: 20 }, () =>
          channel.approve(sent[0].run_id, interruptId, 'approve', 'ok', approvalKey),
        ),
      );
      for (const answer of answers) expect(answer).toEqual(answers[0]);
      expect(answers[0]).toMatchObject({ status: 'approved', replayed: false });
      expect((await channel.follow(sent[0].run_id)).at(-1)?.type).toBe('agent_completed');
    });

    it('names a malformed key', async () => {
      const refused = await failure(channel.start({ query: 'x', idempotency_key: 'has space' }));
      expect(refused.code).toBe('validation_failed');
      expect(refused.fields).toEqual([name === 'rest' ? 'Idempotency-Key' : 'idempotency_key']);
    });
  });

  describe("a run named by the caller's own id", () => {
    it('is found by that id for status, events, following, approvals and cancel', async () => {
      const clientId = `run_${name}_${randomUUID().slice(0, 8)}`;
      const started = await channel.start({ query: 'wait 30 seconds', id: clientId });
      const seen = await channel.follow(clientId, 0, (e) => e.type === 'tool_executing');
      expect(seen.map((e) => e.run_id)).toEqual(seen.map(() => started.run_id));
      expect(await channel.status(clientId)).toMatchObject({
        run_id: started.run_id,
        status: 'running',
      });
      expect((await channel.events(clientId)).map((e) => e.seq)).toEqual(seen.map((e) => e.seq));
      expect(await channel.approvals(clientId)).toEqual([]);
      expect(await channel.cancel(clientId)).toMatchObject({
        run_id: started.run_id,
        cancelled: true,
      });
    });

    it('answers a replayed start with the run as it is now', async () => {
      const clientId = `run_${name}_${randomUUID().slice(0, 8)}`;
      const first = await channel.start({ query: 'What is 4 + 4?', id: clientId });
      expect(first).toMatchObject({ status: 'started', replayed: false });
      await channel.follow(first.run_id);
      expect(await channel.start({ query: 'What is 4 + 4?', id: clientId })).toEqual({
        ...first,
        status: 'complete',
        replayed: true,
      });
    });

    it("is another user's client id only for them", async () => {
      const clientId = `run_${name}_${randomUUID().slice(0, 8)}`;
      await channel.start({ query: 'What is 5 + 5?', id: clientId });
      const other = await openChannel(name, app, `bob-${name}`);
      try {
        expect((await failure(other.status(clientId))).code).toBe('not_found');
      } finally {
        await other.close();
      }
    });
  });
});

// One store for both channels: a key sent as a header over REST and in a frame over WebSocket names
// the same request.
describe('idempotency keys across channels', () => {
  it('answers a WebSocket start with the run a REST start with the same key created', async () => {
    const app = await startTestApp();
    try {
      const token = await app.token('cy');
      const key = randomUUID();
      const rest = await new RestClient(app.http, token).post(
        '/api/agent/run_agent',
        { query: 'What is 8 + 1?' },
        { 'idempotency-key': key },
      );
      const ws = await WsClient.connect(app.ws, { token });
      const frame = await ws.request('start_agent', {
        query: 'What is 8 + 1?',
        idempotency_key: key,
      });
      await ws.close();
      expect(frame).toMatchObject({ type: 'ack', payload: rest.body });
    } finally {
      await app.close();
    }
  });
});
