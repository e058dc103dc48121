import { Client } from '@langchain/langgraph-sdk';
import { randomUUID } from 'node:crypto';
import { RestClient } from './support/rest-client';
import { startTestApp, TestApp } from './support/test-app';

interface Part {
  event: string;
  data: any;
  id?: string;
}

// The Agent Protocol channel driven by the official LangGraph SDK's Client, unchanged
// (`apiUrl: <base>/lg`, the bearer token in defaultHeaders), against the real app.
describe('Agent Protocol channel (/lg, LangGraph SDK)', () => {
  let app: TestApp;
  let token: string;
  let client: Client;
  let rest: RestClient;

  const clientFor = (bearer: string) =>
    new Client({
      apiUrl: `${app.http}/lg`,
      apiKey: null,
      defaultHeaders: { authorization: `Bearer ${bearer}` },
      callerOptions: { maxRetries: 0 },
    });

  beforeAll(async () => {
    app = await startTestApp();
    token = await app.token('lg-alice');
    client = clientFor(token);
    rest = new RestClient(app.http, token);
  });
  afterAll(async () => {
    await app.close();
  });

  const human = (content: string) => ({ messages: [{ type: 'human', content }] });

  async function collect(stream: AsyncIterable<Part>, stop?: (part: Part) => boolean) {
    const parts: Part[] = [];
    for await (const part of stream) {
      parts.push(part);
      if (stop?.(part)) break;
    }
    return parts;
  }

  it('lists the agents as assistants', async () => {
    const assistants = await client.assistants.search({ limit: 10 });
    expect(assistants.map((a) => a.assistant_id)).toEqual(
      expect.arrayContaining(['supervisor', 'researcher']),
    );
    expect(await client.assistants.get('supervisor')).toMatchObject({
      assistant_id: 'supervisor',
      graph_id: 'supervisor',
    });
    await expect(client.assistants.get('nobody')).rejects.toThrow(/404/);
  });

  it('creates, finds, updates and deletes threads, under a thread_id the client chose', async () => {
    const threadId = randomUUID();
    const created = await client.threads.create({ threadId, metadata: { project: 'apollo' } });
    expect(created).toMatchObject({
      thread_id: threadId,
      status: 'idle',
      metadata: { project: 'apollo' },
    });
    await expect(client.threads.create({ threadId })).rejects.toThrow(/409/);
    expect((await client.threads.create({ threadId, ifExists: 'do_nothing' })).thread_id).toBe(
      threadId,
    );
    const found = await client.threads.search({ metadata: { project: 'apollo' } });
    expect(found.map((t) => t.thread_id)).toEqual([threadId]);
    // By ids (a client's or the thread's own), paged, newest first.
    const other = await client.threads.create({ metadata: { project: 'apollo', n: 2 } });
    const byIds = await client.threads.search({ ids: [threadId, other.thread_id, randomUUID()] });
    expect(byIds.map((t) => t.thread_id)).toEqual([other.thread_id, threadId]);
    const second = await client.threads.search({
      metadata: { project: 'apollo' },
      limit: 1,
      offset: 1,
    });
    expect(second.map((t) => t.thread_id)).toEqual([threadId]);
    await client.threads.delete(other.thread_id);
    const updated = await client.threads.update(threadId, { metadata: { stage: 2 } });
    expect(updated.metadata).toEqual({ project: 'apollo', stage: 2 });
    await client.threads.delete(threadId);
    await expect(client.threads.get(threadId)).rejects.toThrow(/404/);
  });

  it('streams a run with its tool call in values, updates and messages-tuple modes', async () => {
    const thread = await client.threads.create();
    let created: { run_id: string } | undefined;
    const parts = await collect(
      client.runs.stream(thread.thread_id, 'supervisor', {
        input: human('What is 17 * 23?'),
        streamMode: ['values', 'updates', 'messages-tuple'],
        onRunCreated: (meta) => (created = meta),
      }) as AsyncIterable<Part>,
    );
    const events = parts.map((p) => p.event);
    expect(events[0]).toBe('metadata');
    expect(parts[0].data.run_id).toBe(created?.run_id);
    // The tool call and its result as updates, the answer's text as message chunks.
    const updates = parts.filter((p) => p.event === 'updates').map((p) => p.data);
    const call = updates.find((u) => u.supervisor?.messages[0].tool_calls);
    expect(call.supervisor.messages[0].tool_calls[0]).toMatchObject({ name: 'calculator' });
    expect(updates.some((u) => u.tools?.messages[0].content.includes('391'))).toBe(true);
    const chunks = parts.filter((p) => p.event === 'messages');
    expect(chunks.map((p) => p.data[0].content).join('')).toContain('391');
    // values: the history first (the question), the answer last.
    const values = parts.filter((p) => p.event === 'values').map((p) => p.data.messages);
    expect(values[0].map((m: { type: string }) => m.type)).toEqual(['human']);
    expect(values.at(-1).at(-1)).toMatchObject({ type: 'ai', content: '17 * 23 = 391.' });

    const run = await client.runs.get(thread.thread_id, created!.run_id);
    expect(run.status).toBe('success');
    const state = await client.threads.getState(thread.thread_id);
    expect((state.values as { messages: unknown[] }).messages).toHaveLength(2);
    // The same run over REST.
    expect((await rest.get(`/api/agent/${created!.run_id}/status`)).body.status).toBe('complete');
  });

  it('waits for a run, and a thread it creates (if_not_exists)', async () => {
    const threadId = randomUUID();
    const values = (await client.runs.wait(threadId, 'supervisor', {
      input: human('What is 6 * 7?'),
      ifNotExists: 'create',
    })) as { messages: { type: string; content: string }[] };
    expect(values.messages.at(-1)?.content).toContain('42');
    expect((await client.threads.get(threadId)).thread_id).toBe(threadId);
    const runs = await client.runs.list(threadId);
    expect(runs).toHaveLength(1);
    await expect(
      client.runs.wait(randomUUID(), 'supervisor', { input: human('hi') }),
    ).rejects.toThrow(/404/);
  });

  it('joins a run from a second client after the first disconnected, from its Last-Event-ID', async () => {
    const thread = await client.threads.create();
    const abort = new AbortController();
    let runId = '';
    const first = await collect(
      client.runs.stream(thread.thread_id, 'supervisor', {
        input: human('wait 300 ms then what is 4 * 4?'),
        streamMode: ['updates'],
        signal: abort.signal,
        onRunCreated: (meta) => (runId = meta.run_id),
      }) as AsyncIterable<Part>,
      (p) => p.event === 'updates',
    );
    abort.abort();
    const lastEventId = first.at(-1)!.id!;
    expect(Number(lastEventId)).toBeGreaterThan(0);

    const second = clientFor(token);
    const rest2 = await collect(
      second.runs.joinStream(thread.thread_id, runId, {
        lastEventId,
        streamMode: ['updates', 'values'],
      }) as AsyncIterable<Part>,
    );
    const ids = rest2.filter((p) => p.id !== undefined).map((p) => Number(p.id));
    expect(ids.every((id) => id > Number(lastEventId))).toBe(true);
    // Nothing before the drop came again: the wait call was in the first part only.
    const calls = [...first, ...rest2]
      .filter((p) => p.event === 'updates' && p.data.supervisor?.messages[0].tool_calls)
      .map((p) => p.data.supervisor.messages[0].tool_calls[0].name);
    expect(calls).toEqual(['wait', 'calculator']);
    expect(
      rest2
        .filter((p) => p.event === 'values')
        .at(-1)
        ?.data.messages.at(-1).content,
    ).toContain('16');
    expect(
      ((await second.runs.join(thread.thread_id, runId)) as any).messages.at(-1).content,
    ).toContain('16');
  });

  it('cancels a run; its status says interrupted, and REST says cancelled', async () => {
    const thread = await client.threads.create();
    const run = await client.runs.create(thread.thread_id, 'supervisor', {
      input: human('wait 30 seconds'),
    });
    // Queued, or already taken by a worker: either way not over.
    expect(['pending', 'running']).toContain(run.status);
    await client.runs.cancel(thread.thread_id, run.run_id, true);
    expect((await client.runs.get(thread.thread_id, run.run_id)).status).toBe('interrupted');
    expect((await rest.get(`/api/agent/${run.run_id}/status`)).body.status).toBe('cancelled');
  });

  it('interrupts at a tool call waiting for approval, and a Command resume finishes the run', async () => {
    const thread = await client.threads.create();
    const parts = await collect(
      client.runs.stream(thread.thread_id, 'supervisor', {
        input: human('notify me that the build is done'),
        streamMode: ['updates'],
      }) as AsyncIterable<Part>,
    );
    const interrupt = parts.find((p) => p.event === 'updates' && p.data.__interrupt__)!.data
      .__interrupt__[0];
    expect(interrupt.value).toMatchObject({ type: 'tool_approval', tool: 'notify' });
    const waiting = await client.threads.get(thread.thread_id);
    expect(waiting.status).toBe('interrupted');
    expect(Object.values(waiting.interrupts).flat()).toEqual([
      expect.objectContaining({ id: interrupt.id }),
    ]);
    const state = await client.threads.getState(thread.thread_id);
    expect(state.next).toEqual(['supervisor']);

    const resumed = await collect(
      client.runs.stream(thread.thread_id, 'supervisor', {
        command: { resume: { decision: 'approve' } },
        streamMode: ['values', 'updates'],
      }) as AsyncIterable<Part>,
    );
    expect(resumed[0].data.run_id).toBe(interrupt.value.run_id);
    const last = resumed.filter((p) => p.event === 'values').at(-1)!.data;
    expect(last.messages.at(-1).type).toBe('ai');
    expect((await client.threads.get(thread.thread_id)).status).toBe('idle');
    const approvals = await rest.get(`/api/agent/${interrupt.value.run_id}/approvals`);
    expect(approvals.body[0]).toMatchObject({ interrupt_id: interrupt.id, status: 'approved' });
  });

  it('refuses a busy thread under multitask_strategy reject', async () => {
    const thread = await client.threads.create();
    const run = await client.runs.create(thread.thread_id, 'supervisor', {
      input: human('wait 30 seconds'),
    });
    await expect(
      client.runs.create(thread.thread_id, 'supervisor', {
        input: human('What is 1 + 1?'),
        multitaskStrategy: 'reject',
      }),
    ).rejects.toThrow(/409/);
    await client.runs.cancel(thread.thread_id, run.run_id, true);
  });

  it("answers another user's threads and runs as ones that do not exist, and names bad fields", async () => {
    const thread = await client.threads.create();
    const run = await client.runs.create(thread.thread_id, 'supervisor', {
      input: human('What is 2 + 2?'),
    });
    const mallory = clientFor(await app.token('lg-mallory'));
    await expect(mallory.threads.get(thread.thread_id)).rejects.toThrow(/404/);
    await expect(mallory.runs.get(thread.thread_id, run.run_id)).rejects.toThrow(/404/);
    await expect(mallory.threads.getState(thread.thread_id)).rejects.toThrow(/404/);
    expect(await mallory.threads.search()).toEqual([]);

    const bad = await fetch(`${app.http}/lg/threads/${thread.thread_id}/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ assistant_id: 'supervisor', input: {}, stream_mode: 'everything' }),
    });
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as { errors: { field: string }[] };
    expect(body.errors.map((e) => e.field)).toEqual(['stream_mode']);
    const post = (path: string, json: unknown) =>
      fetch(`${app.http}/lg${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(json),
      });
    const fieldsOf = async (res: Response) =>
      ((await res.json()) as { errors: { field: string }[] }).errors.map((e) => e.field);
    const notList = await post('/threads/search', { ids: 'abc' });
    expect([notList.status, await fieldsOf(notList)]).toEqual([400, ['ids']]);
    const tooBig = await post('/threads', { metadata: { blob: 'x'.repeat(70_000) } });
    expect([tooBig.status, await fieldsOf(tooBig)]).toEqual([400, ['metadata']]);
    const badPage = await fetch(`${app.http}/lg/threads/${thread.thread_id}/runs?limit=-1`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect([badPage.status, await fieldsOf(badPage)]).toEqual([400, ['limit']]);
    const anonymous = await fetch(`${app.http}/lg/threads/search`, { method: 'POST' });
    expect(anonymous.status).toBe(401);
  });
});
