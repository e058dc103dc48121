import { HttpAgent, verifyEvents } from '@ag-ui/client';
import { randomUUID } from 'node:crypto';
import { from } from 'rxjs';
import { readAgUi } from './support/ag-ui-sse';
import { RestClient } from './support/rest-client';
import { startTestApp, TestApp } from './support/test-app';

// An AG-UI event as the tests look at it.
type AgUiEvent = { type: string } & Record<string, any>;

// A frame's SSE id `<seq>.<n>` as [seq, n]; a bare seq (RUN_STARTED's 0) is after all of seq's.
const idOrder = (id: string): [number, number] => {
  const [seq, n] = id.split('.');
  return [Number(seq), n === undefined ? Infinity : Number(n)];
};
const isBefore = (a: string, b: string): boolean => {
  const [[seqA, nA], [seqB, nB]] = [idOrder(a), idOrder(b)];
  return seqA < seqB || (seqA === seqB && nA < nB);
};

// The AG-UI channel driven by AG-UI's own client (@ag-ui/client's HttpAgent, whose event
// verification rejects any malformed stream), against the real app.
describe('AG-UI channel (/ag-ui)', () => {
  let app: TestApp;
  let token: string;
  let rest: RestClient;

  beforeAll(async () => {
    app = await startTestApp();
    token = await app.token('ag-ui-alice');
    rest = new RestClient(app.http, token);
  });
  afterAll(async () => {
    await app.close();
  });

  const agentFor = (query: string, threadId = randomUUID()) => {
    const agent = new HttpAgent({
      url: `${app.http}/ag-ui/supervisor`,
      headers: { authorization: `Bearer ${token}` },
      threadId,
    });
    agent.addMessage({ id: randomUUID(), role: 'user', content: query });
    return agent;
  };

  async function run(agent: HttpAgent, parameters: Parameters<HttpAgent['runAgent']>[0] = {}) {
    const events: AgUiEvent[] = [];
    const result = await agent.runAgent(parameters, {
      onEvent: ({ event }) => {
        events.push(event as AgUiEvent);
      },
    });
    const types: string[] = events.map((e) => e.type);
    return { ...result, events, types };
  }

  // Runs events through the client's own verifier (the rules HttpAgent applies to a stream).
  function verify(events: object[]): Promise<number> {
    const verifier = verifyEvents(false) as unknown as (source: unknown) => {
      subscribe(observer: object): unknown;
    };
    return new Promise((resolve, reject) => {
      let count = 0;
      verifier(from(events)).subscribe({
        next: () => count++,
        error: reject,
        complete: () => resolve(count),
      });
    });
  }

  it('runs an agent end to end: tool call, streamed answer, result; the run is the same one REST sees', async () => {
    const agent = agentFor('What is 17 * 23?');
    const runId = randomUUID();
    const { events, types, result, newMessages } = await run(agent, { runId });

    expect(types[0]).toBe('RUN_STARTED');
    expect(types.at(-1)).toBe('RUN_FINISHED');
    const start = events.find((e) => e.type === 'TOOL_CALL_START') as never as Record<
      string,
      string
    >;
    expect(start.toolCallName).toBe('calculator');
    const toolResult = events.find((e) => e.type === 'TOOL_CALL_RESULT') as never as {
      content: string;
      toolCallId: string;
    };
    expect(toolResult.toolCallId).toBe(start.toolCallId);
    expect(JSON.parse(toolResult.content)).toMatchObject({ value: 391 });
    expect(types).toContain('TEXT_MESSAGE_CONTENT');
    expect(result).toContain('391');
    const answer = newMessages.find((m) => m.role === 'assistant' && typeof m.content === 'string');
    expect(answer?.content).toContain('391');

    // The AG-UI runId is the run's client id on every channel; threadId the client's id for the
    // thread, which has its own id as any other.
    const status = await rest.get(`/api/agent/${runId}/status`);
    expect(status.body).toMatchObject({ status: 'complete', client_run_id: runId });
    const history = await rest.get(`/api/threads/${status.body.thread_id}/messages`);
    expect(history.body.items.map((m: { role: string }) => m.role)).toEqual(['user', 'assistant']);
  });

  it('continues a thread: a second run on the same threadId is on the same thread', async () => {
    const agent = agentFor('What is 6 * 7?');
    const firstId = randomUUID();
    await run(agent, { runId: firstId });
    agent.addMessage({ id: randomUUID(), role: 'user', content: 'What is 2 + 2?' });
    const second = await run(agent);
    expect(second.result).toContain('4');
    const first = await rest.get(`/api/agent/${firstId}/status`);
    const runs = await rest.get(`/api/threads/${first.body.thread_id}/runs`);
    expect(runs.body.items).toHaveLength(2);
    // A thread made elsewhere is continued by its own id.
    const made = await rest.post('/api/threads', { title: 'from REST' });
    const onIt = agentFor('What is 5 + 5?', made.body.id);
    expect((await run(onIt)).result).toContain('10');
    const history = await rest.get(`/api/threads/${made.body.id}/messages`);
    expect(history.body.items).toHaveLength(2);
  });

  it('ends at an approval with an interrupt, and a resume approves it and finishes the run', async () => {
    const agent = agentFor('notify me that the build is done');
    const first = await run(agent);
    const finished = first.events.at(-1) as never as {
      outcome: { type: string; interrupts: { id: string; reason: string; toolCallId: string }[] };
    };
    expect(finished.outcome.type).toBe('interrupt');
    const [interrupt] = finished.outcome.interrupts;
    expect(interrupt.reason).toBe('tool_approval');
    // The call waiting for approval was shown before the interrupt.
    expect(first.types).toContain('TOOL_CALL_START');

    const second = await run(agent, {
      resume: [{ interruptId: interrupt.id, status: 'resolved' }],
    });
    expect(second.types[0]).toBe('RUN_STARTED');
    expect(second.types).not.toContain('TOOL_CALL_START');
    const result = second.events.find((e) => e.type === 'TOOL_CALL_RESULT') as never as {
      toolCallId: string;
    };
    expect(result.toolCallId).toBe(interrupt.toolCallId);
    expect(second.events.at(-1)).toMatchObject({ outcome: { type: 'success' } });

    // Approved once, by AG-UI, as REST reports it.
    const runId = (interrupt as never as { metadata: { run_id: string } }).metadata.run_id;
    const listed = await rest.get(`/api/agent/${runId}/approvals`);
    expect(listed.body).toEqual([
      expect.objectContaining({ interrupt_id: interrupt.id, status: 'approved' }),
    ]);
  });

  it('takes a rejection in the resume payload, and an approval given over REST first', async () => {
    const agent = agentFor('notify me that the tests passed');
    const first = await run(agent);
    const { interrupts } = (
      first.events.at(-1) as never as {
        outcome: { interrupts: { id: string; metadata: { run_id: string } }[] };
      }
    ).outcome;
    // Answered over REST: the AG-UI resume gets that answer back and follows the run on.
    const answered = await rest.post(
      `/api/agent/${interrupts[0].metadata.run_id}/approvals/${interrupts[0].id}`,
      { decision: 'reject', message: 'not now' },
    );
    expect(answered.status).toBe(200);
    const second = await run(agent, {
      resume: [
        { interruptId: interrupts[0].id, status: 'resolved', payload: { decision: 'reject' } },
      ],
    });
    const resolved = second.events.find(
      (e) => e.type === 'CUSTOM' && (e as never as { name: string }).name === 'approval_resolved',
    ) as never as { value: { decision: string; message: string } };
    expect(resolved.value).toMatchObject({ decision: 'reject', message: 'not now' });
    expect(second.events.at(-1)).toMatchObject({
      type: 'RUN_FINISHED',
      outcome: { type: 'success' },
    });
  });

  it('resumes a dropped stream with Last-Event-ID: both parts make one valid AG-UI stream', async () => {
    const body = {
      threadId: randomUUID(),
      runId: randomUUID(),
      messages: [{ id: 'm1', role: 'user', content: 'wait 300 ms then what is 4 * 4?' }],
    };
    const url = `${app.http}/ag-ui/supervisor`;
    const first = await readAgUi(url, body, {
      token,
      onEvent: (e) => e.type === 'TOOL_CALL_START',
    });
    expect(first.dropped).toBe(true);
    // Dropped after TOOL_CALL_START, in the middle of its run event's frames: the others come next.
    const lastId = first.ids.at(-1)!;
    expect(lastId).toMatch(/^[1-9]\d*\.\d+$/);

    const rest2 = await readAgUi(url, body, { token, lastEventId: lastId });
    expect(rest2.events[0]).toMatchObject({ type: 'TOOL_CALL_ARGS' });
    expect(rest2.ids.every((id) => isBefore(lastId, id))).toBe(true);
    const both = [...first.events, ...rest2.events];
    await expect(verify(both)).resolves.toBe(both.length);
    expect(rest2.events.at(-1)).toMatchObject({
      type: 'RUN_FINISHED',
      result: expect.stringContaining('16'),
    });
    // Nothing from before the drop came again: the wait call was started once.
    const starts = both.filter((e) => e.type === 'TOOL_CALL_START');
    expect(starts.map((e) => e.toolCallName)).toEqual(['wait', 'calculator']);
  });

  describe('resuming after any frame', () => {
    const url = () => `${app.http}/ag-ui/supervisor`;

    // Reads a whole stream, then resumes it after each of its frames: every frame has its own id,
    // the ids increase, and each resume sends exactly the frames that followed (the same events,
    // timestamps and all, translated again from the database), then a 204 after the last one.
    async function expectEveryCutResumes(body: object) {
      const whole = await readAgUi(url(), body, { token });
      expect(whole.dropped).toBe(false);
      expect(whole.ids[0]).toBe('0');
      expect(whole.ids.slice(1).every((id) => /^[1-9]\d*\.\d+$/.test(id))).toBe(true);
      expect(new Set(whole.ids).size).toBe(whole.ids.length);
      expect(whole.ids.slice(1).every((id, i) => isBefore(whole.ids[i], id))).toBe(true);
      await expect(verify(whole.events)).resolves.toBe(whole.events.length);

      for (const [i, id] of whole.ids.entries()) {
        const resumed = await readAgUi(url(), body, { token, lastEventId: id });
        const last = i === whole.ids.length - 1;
        expect({ after: id, events: resumed.events, ids: resumed.ids }).toEqual({
          after: id,
          events: whole.events.slice(i + 1),
          ids: whole.ids.slice(i + 1),
        });
        expect({ after: id, noContent: resumed.noContent }).toEqual({ after: id, noContent: last });
      }
      return whole;
    }

    // Where a frame came from: the run event (seq) of its id.
    const seqOf = (read: { ids: string[] }, i: number) => idOrder(read.ids[i])[0];

    it('a run whose messages and step span several run events', async () => {
      const whole = await expectEveryCutResumes({
        threadId: randomUUID(),
        runId: randomUUID(),
        messages: [
          { id: 'm1', role: 'user', content: 'ask the researcher to find notes about pg-boss' },
        ],
      });
      const types = whole.events.map((e) => e.type);
      // What makes a resume from the middle hard was there: run events of several frames, and a
      // message and a step opened by one run event and closed by a later one.
      expect(whole.ids.some((id, i) => i > 1 && seqOf(whole, i - 1) === idOrder(id)[0])).toBe(true);
      for (const [open, close] of [
        ['TEXT_MESSAGE_START', 'TEXT_MESSAGE_END'],
        ['STEP_STARTED', 'STEP_FINISHED'],
      ]) {
        expect(seqOf(whole, types.indexOf(close))).toBeGreaterThan(
          seqOf(whole, types.indexOf(open)),
        );
      }
    });

    it('a run that stops at an approval, and the stream that answers it', async () => {
      const threadId = randomUUID();
      const askedBody = {
        threadId,
        runId: randomUUID(),
        messages: [{ id: 'm1', role: 'user', content: 'notify me that the build is done' }],
      };
      const asked = await expectEveryCutResumes(askedBody);
      const finished = asked.events.at(-1) as never as {
        outcome: { type: string; interrupts: { id: string }[] };
      };
      expect(finished.outcome.type).toBe('interrupt');

      // Its frames follow the approval's run event; RUN_STARTED's 0 still comes first.
      const answered = await expectEveryCutResumes({
        threadId,
        runId: randomUUID(),
        messages: [],
        resume: [{ interruptId: finished.outcome.interrupts[0].id, status: 'resolved' }],
      });
      expect(seqOf(answered, 1)).toBeGreaterThan(seqOf(asked, asked.ids.length - 1));
      expect(answered.events.at(-1)).toMatchObject({ outcome: { type: 'success' } });

      // The first stream, reconnected after its RUN_FINISHED now that the approval is answered:
      // its client saw the end, so nothing more (no frames after a RUN_FINISHED), by its frame's
      // id or by the bare seq.
      const endId = asked.ids.at(-1)!;
      for (const lastEventId of [endId, endId.split('.')[0]]) {
        const again = await readAgUi(url(), askedBody, { token, lastEventId });
        expect({ lastEventId, noContent: again.noContent, events: again.events }).toEqual({
          lastEventId,
          noContent: true,
          events: [],
        });
      }
    });

    it('refuses a Last-Event-ID past what the run has sent, at once, while it waits for approval', async () => {
      const body = {
        threadId: randomUUID(),
        runId: randomUUID(),
        messages: [{ id: 'm1', role: 'user', content: 'notify me that the build is done' }],
      };
      const asked = await readAgUi(url(), body, { token });
      expect(asked.events.at(-1)).toMatchObject({ outcome: { type: 'interrupt' } });
      const res = await fetch(url(), {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'last-event-id': '9999.0',
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({
        code: 'validation_failed',
        errors: [{ field: 'Last-Event-ID' }],
      });
    });
  });

  it('cancels a run by its runId; the stream ends with outcome cancelled', async () => {
    const agent = agentFor('wait 30 seconds');
    const runId = randomUUID();
    const events: AgUiEvent[] = [];
    let cancelled: Promise<{ body: unknown }> | undefined;
    await agent.runAgent(
      { runId },
      {
        onEvent: ({ event }) => {
          events.push(event as AgUiEvent);
          if (events.at(-1)!.type === 'TOOL_CALL_START') {
            cancelled = rest.post(`/ag-ui/supervisor/runs/${runId}/cancel`);
          }
        },
      },
    );
    expect((await cancelled)?.body).toMatchObject({ cancelled: true });
    expect(events.at(-1)).toMatchObject({ type: 'RUN_FINISHED', outcome: { type: 'cancelled' } });
    expect((await rest.get(`/api/agent/${runId}/status`)).body.status).toBe('cancelled');
  });

  it("puts a sub-agent's work in a step", async () => {
    const { events, types } = await run(agentFor('ask the researcher to find notes about pg-boss'));
    expect(types).toContain('STEP_STARTED');
    expect(events.find((e) => e.type === 'STEP_STARTED')).toMatchObject({ stepName: 'researcher' });
    expect(types.indexOf('STEP_FINISHED')).toBeGreaterThan(types.indexOf('STEP_STARTED'));
  });

  describe('refusals', () => {
    const post = (body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${app.http}/ag-ui/supervisor`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${token}`,
          ...headers,
        },
        body: JSON.stringify(body),
      });
    const valid = () => ({
      threadId: randomUUID(),
      runId: randomUUID(),
      messages: [{ id: 'm1', role: 'user', content: 'What is 1 + 1?' }],
    });

    it('names each bad field of a RunAgentInput', async () => {
      const res = await post({ messages: 'no' });
      expect(res.status).toBe(400);
      const body = (await res.json()) as any;
      expect(body.code).toBe('validation_failed');
      expect(body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
        'messages',
        'runId',
        'threadId',
      ]);
    });

    it('takes fields of later protocol versions, but no prototype-named key anywhere', async () => {
      const later = await post({ ...valid(), somethingNew: { a: 1 } });
      expect(later.status).toBe(200);
      await later.body?.cancel();
      const text = JSON.stringify(valid()).replace(
        '"messages":[{',
        '"messages":[{"constructor":{"prototype":1},',
      );
      const hostile = await fetch(`${app.http}/ag-ui/supervisor`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: `{"__proto__":{"polluted":true},${text.slice(1)}`,
      });
      expect(hostile.status).toBe(400);
      const body = (await hostile.json()) as any;
      expect(body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
        '__proto__',
        'messages.0.constructor',
      ]);
    });

    it('wants a user message, a known agent and a bearer token', async () => {
      const noQuestion = await post({ ...valid(), messages: [] });
      expect(noQuestion.status).toBe(400);
      expect(((await noQuestion.json()) as any).errors[0].field).toBe('messages');

      const unknown = await fetch(`${app.http}/ag-ui/nobody`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(valid()),
      });
      expect(unknown.status).toBe(400);
      expect(((await unknown.json()) as any).errors[0].field).toBe('agent');

      const anonymous = await post(valid(), { authorization: '' });
      expect(anonymous.status).toBe(401);
    });

    it('refuses a malformed Last-Event-ID with 400 naming it, and starts nothing', async () => {
      const input = valid();
      const res = await post(input, { 'last-event-id': '3.x' });
      expect(res.status).toBe(400);
      expect(((await res.json()) as any).errors).toEqual([
        expect.objectContaining({ field: 'Last-Event-ID' }),
      ]);
      expect((await rest.get(`/api/agent/${input.runId}/status`)).status).toBe(404);
    });

    it("does not reach another user's thread or interrupt", async () => {
      const agent = agentFor('What is 3 + 3?');
      const runId = randomUUID();
      await run(agent, { runId });
      const ours = (await rest.get(`/api/agent/${runId}/status`)).body.thread_id;
      const mallory = await app.token('ag-ui-mallory');
      // Alice's threadId, and her thread's own id: for mallory they are ids of threads of her own.
      for (const threadId of [agent.threadId, ours]) {
        const theirs = await readAgUi(
          `${app.http}/ag-ui/supervisor`,
          { ...valid(), threadId },
          { token: mallory },
        );
        expect(theirs.events.at(-1)).toMatchObject({ type: 'RUN_FINISHED' });
      }
      const history = await rest.get(`/api/threads/${ours}/messages`);
      expect(history.body.items).toHaveLength(2);
      const malloryThreads = await new RestClient(app.http, mallory).get('/api/threads');
      expect(malloryThreads.body.items).toHaveLength(2);
      expect(malloryThreads.body.items.map((t: { id: string }) => t.id)).not.toContain(ours);
      const resume = await post({
        ...valid(),
        messages: [],
        resume: [{ interruptId: randomUUID(), status: 'resolved' }],
      });
      expect(resume.status).toBe(404);
    });
  });
});
