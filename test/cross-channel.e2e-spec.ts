import { Client as LgClient } from '@langchain/langgraph-sdk';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { randomUUID } from 'node:crypto';
import { readAgUi } from './support/ag-ui-sse';
import { Channel, openChannel } from './support/channels';
import { RestClient } from './support/rest-client';
import { startTestApp, TestApp } from './support/test-app';

// A run as every channel can name it: our client id, its query and its thread.
interface RunRef {
  id: string;
  query: string;
  thread_id: string;
}

// How a run ended, as any channel reports it.
interface Outcome {
  end: 'complete' | 'cancelled' | 'interrupt' | 'error';
  answer?: string;
  interruptId?: string;
}

type Until = 'end' | 'approval' | 'tool';

// What a channel does to a run, whichever channel started it.
interface RunChannel {
  readonly name: string;
  start(query: string): Promise<RunRef>;
  // Follows the run from its start to its end, or to the approval it waits for ('approval'), or
  // to its first tool call ('tool': 'stopped').
  follow(run: RunRef, until?: Until): Promise<Outcome | 'stopped'>;
  cancel(run: RunRef): Promise<void>;
  // Answers the approval the run waits for, then follows it to its end.
  approve(run: RunRef, interruptId: string): Promise<Outcome>;
  close(): Promise<void>;
}

// REST and the WebSocket, through the parity suite's clients.
class NativeChannel implements RunChannel {
  constructor(
    readonly name: string,
    private readonly channel: Channel,
  ) {}

  async start(query: string): Promise<RunRef> {
    const id = randomUUID();
    const started = await this.channel.start({ query, id });
    return { id, query, thread_id: started.thread_id };
  }

  async follow(run: RunRef, until: Until = 'end') {
    const events = await this.channel.follow(
      run.id,
      0,
      (e) =>
        (until === 'approval' && e.type === 'approval_required') ||
        (until === 'tool' && e.type === 'tool_executing'),
    );
    const last = events[events.length - 1];
    if (last.type === 'tool_executing') return 'stopped' as const;
    if (last.type === 'approval_required') {
      return { end: 'interrupt' as const, interruptId: String(last.data.interrupt_id) };
    }
    return outcomeOf(last.type, last.data.answer);
  }

  async cancel(run: RunRef) {
    expect(await this.channel.cancel(run.id)).toMatchObject({ cancelled: true });
  }

  async approve(run: RunRef, interruptId: string) {
    await this.channel.approve(run.id, interruptId, 'approve');
    return (await this.follow(run)) as Outcome;
  }

  close() {
    return this.channel.close();
  }
}

// AG-UI: a run is named by threadId and runId (our client id); the same RunAgentInput again
// follows the run, a `resume` answers its approval.
class AgUiRunChannel implements RunChannel {
  readonly name = 'ag-ui';
  constructor(
    private readonly app: TestApp,
    private readonly token: string,
  ) {}

  async start(query: string): Promise<RunRef> {
    const run = { id: randomUUID(), query, thread_id: randomUUID() };
    await readAgUi(this.url(), this.input(run), { token: this.token, onEvent: () => true });
    return run;
  }

  // A pending approval ends an AG-UI stream on its own; one already answered does not.
  async follow(run: RunRef, until: Until = 'end') {
    return this.read(this.input(run), until === 'tool');
  }

  async cancel(run: RunRef) {
    const res = await new RestClient(this.app.http, this.token).post(
      `/ag-ui/supervisor/runs/${run.id}/cancel`,
    );
    expect(res.body).toMatchObject({ cancelled: true });
  }

  async approve(run: RunRef, interruptId: string) {
    const input = { ...this.input(run), runId: randomUUID(), messages: [] };
    return (await this.read({
      ...input,
      resume: [{ interruptId, status: 'resolved' }],
    })) as Outcome;
  }

  close() {
    return Promise.resolve();
  }

  private async read(input: object, atTool = false) {
    const { events, dropped } = await readAgUi(this.url(), input, {
      token: this.token,
      onEvent: (e) => atTool && e.type === 'TOOL_CALL_START',
    });
    if (dropped) return 'stopped' as const;
    const last = events[events.length - 1] as {
      type: string;
      result?: string;
      outcome?: { type: string; interrupts?: { id: string }[] };
    };
    if (last.type === 'RUN_ERROR') return { end: 'error' as const };
    if (last.outcome?.type === 'interrupt') {
      return { end: 'interrupt' as const, interruptId: last.outcome.interrupts![0].id };
    }
    if (last.outcome?.type === 'cancelled') return { end: 'cancelled' as const };
    return { end: 'complete' as const, answer: last.result };
  }

  private input(run: RunRef) {
    return {
      threadId: run.thread_id,
      runId: run.id,
      messages: [{ id: randomUUID(), role: 'user', content: run.query }],
    };
  }

  private url() {
    return `${this.app.http}/ag-ui/supervisor`;
  }
}

// MCP: the agent's tool starts a run; follow_run, cancel_run and approve act on any run.
class McpRunChannel implements RunChannel {
  readonly name = 'mcp';
  private readonly calls: Promise<unknown>[] = [];

  private constructor(
    private readonly client: Client,
    private readonly rest: RestClient,
  ) {}

  static async open(app: TestApp, token: string): Promise<McpRunChannel> {
    const client = new Client({ name: 'cross-channel', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${app.http}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    return new McpRunChannel(client, new RestClient(app.http, token));
  }

  // The call runs on (to the run's end or approval); the run exists once its first event came.
  async start(query: string): Promise<RunRef> {
    let started!: (runId: string) => void;
    const first = new Promise<string>((resolve) => (started = resolve));
    this.calls.push(
      this.client.callTool({ name: 'supervisor', arguments: { query } }, CallToolResultSchema, {
        onprogress: (p) => started(metaOf(p)['netra/run_id'] as string),
      }),
    );
    // (REST tells the harness the run's client id, which is the MCP call's: other channels
    // name the run by it.)
    const status = (await this.rest.get(`/api/agent/${await first}/status`)).body;
    return { id: status.client_run_id, query, thread_id: status.thread_id };
  }

  async follow(run: RunRef, until: Until = 'end') {
    const abort = new AbortController();
    const following = this.client.callTool(
      { name: 'follow_run', arguments: { run_id: run.id } },
      CallToolResultSchema,
      {
        signal: abort.signal,
        onprogress: (p) => {
          const event = metaOf(p)['netra/event'] as { type: string };
          if (until === 'tool' && event.type === 'tool_executing') abort.abort();
        },
      },
    );
    try {
      return this.outcome(await following);
    } catch (err) {
      if (abort.signal.aborted) return 'stopped' as const;
      throw err;
    }
  }

  async cancel(run: RunRef) {
    const result = await this.client.callTool({
      name: 'cancel_run',
      arguments: { run_id: run.id },
    });
    expect(result.structuredContent).toMatchObject({ cancelled: true });
  }

  async approve(_run: RunRef, interruptId: string) {
    const result = await this.client.callTool({
      name: 'approve',
      arguments: { interrupt_id: interruptId, decision: 'approve' },
    });
    return this.outcome(result);
  }

  async close() {
    await Promise.allSettled(this.calls);
    await this.client.close();
  }

  private outcome(result: unknown): Outcome {
    const content = (result as { structuredContent: unknown }).structuredContent as {
      status: string;
      answer?: string;
      interrupt_id?: string;
    };
    if (content.status === 'requires_action') {
      return { end: 'interrupt', interruptId: content.interrupt_id };
    }
    if (content.status === 'complete') return { end: 'complete', answer: content.answer };
    if (content.status === 'cancelled') return { end: 'cancelled' };
    return { end: 'error' };
  }
}

// The Agent Protocol through the LangGraph SDK: a run is named by its thread and run_id; joinStream
// follows it, a Command resume answers its approval.
class LgRunChannel implements RunChannel {
  readonly name = 'lg';
  private readonly client: LgClient;

  constructor(app: TestApp, token: string) {
    this.client = new LgClient({
      apiUrl: `${app.http}/lg`,
      apiKey: null,
      defaultHeaders: { authorization: `Bearer ${token}` },
    });
  }

  async start(query: string): Promise<RunRef> {
    const thread = await this.client.threads.create();
    const run = await this.client.runs.create(thread.thread_id, 'supervisor', {
      input: { messages: [{ type: 'human', content: query }] },
    });
    return { id: run.run_id, query, thread_id: thread.thread_id };
  }

  async follow(run: RunRef, until: Until = 'end') {
    const stream = this.client.runs.joinStream(run.thread_id, run.id, {
      streamMode: ['updates', 'values'],
    });
    return this.outcome(run, stream, until === 'tool');
  }

  async cancel(run: RunRef) {
    await this.client.runs.cancel(run.thread_id, run.id, true);
    // `interrupted` is also a run waiting for a person; the thread says which.
    expect((await this.client.runs.get(run.thread_id, run.id)).status).toBe('interrupted');
    expect((await this.client.threads.get(run.thread_id)).status).not.toBe('interrupted');
  }

  async approve(run: RunRef, _interruptId: string) {
    const stream = this.client.runs.stream(run.thread_id, 'supervisor', {
      command: { resume: { decision: 'approve' } },
      streamMode: ['updates', 'values'],
    });
    return (await this.outcome(run, stream, false)) as Outcome;
  }

  close() {
    return Promise.resolve();
  }

  private async outcome(
    run: RunRef,
    stream: AsyncIterable<{ event: string; data: any }>,
    atTool: boolean,
  ) {
    let values: { messages?: { type: string; content: string }[] } = {};
    for await (const part of stream) {
      if (part.event === 'values') values = part.data;
      if (part.event === 'updates' && part.data.__interrupt__) {
        return { end: 'interrupt' as const, interruptId: part.data.__interrupt__[0].id as string };
      }
      const called = Object.values(part.data ?? {}).some((u: any) => u?.messages?.[0]?.tool_calls);
      if (atTool && part.event === 'updates' && called) return 'stopped' as const;
    }
    const { status } = await this.client.runs.get(run.thread_id, run.id);
    if (status === 'success')
      return { end: 'complete' as const, answer: values.messages?.at(-1)?.content };
    if (status === 'interrupted') {
      const thread = await this.client.threads.get(run.thread_id);
      return thread.status === 'interrupted'
        ? { end: 'error' as const }
        : { end: 'cancelled' as const };
    }
    return { end: 'error' as const };
  }
}

// A progress notification's _meta (the SDK's type for onprogress leaves it out; it is there).
function metaOf(progress: object): Record<string, unknown> {
  return (progress as { _meta?: Record<string, unknown> })._meta ?? {};
}

function outcomeOf(type: string, answer: unknown): Outcome {
  if (type === 'agent_completed') return { end: 'complete', answer: String(answer) };
  if (type === 'agent_cancelled') return { end: 'cancelled' };
  return { end: 'error' };
}

const CHANNELS = ['rest', 'ws', 'ag-ui', 'mcp', 'lg'] as const;
const PAIRS = CHANNELS.flatMap((a) => CHANNELS.filter((b) => b !== a).map((b) => [a, b]));

// One scenario table, run over every pair of channels: a run started on the first is followed,
// cancelled and approved on the second, through the same shared services.
describe('a run started on one channel is followed, cancelled and approved on another', () => {
  let app: TestApp;
  const channels = new Map<string, RunChannel>();

  beforeAll(async () => {
    app = await startTestApp();
    const user = 'cross-channel-alice';
    const token = await app.token(user);
    channels.set('rest', new NativeChannel('rest', await openChannel('rest', app, user)));
    channels.set('ws', new NativeChannel('ws', await openChannel('ws', app, user)));
    channels.set('ag-ui', new AgUiRunChannel(app, token));
    channels.set('mcp', await McpRunChannel.open(app, token));
    channels.set('lg', new LgRunChannel(app, token));
  });
  afterAll(async () => {
    for (const channel of channels.values()) await channel.close();
    await app.close();
  });
  const on = (name: string) => channels.get(name)!;

  it.each(PAIRS)('started on %s, followed to its end on %s', async (a, b) => {
    const run = await on(a).start('What is 17 * 23?');
    expect(await on(b).follow(run)).toEqual({ end: 'complete', answer: '17 * 23 = 391.' });
  });

  it.each(PAIRS)('started on %s, cancelled on %s while a tool runs', async (a, b) => {
    const run = await on(a).start('wait 30 seconds');
    expect(await on(a).follow(run, 'tool')).toBe('stopped');
    await on(b).cancel(run);
    expect(await on(a).follow(run)).toEqual({ end: 'cancelled' });
  });

  it.each(PAIRS)('started on %s, approved on %s', async (a, b) => {
    const run = await on(a).start('notify me that the deploy is done');
    const waiting = (await on(a).follow(run, 'approval')) as Outcome;
    expect(waiting.end).toBe('interrupt');
    const done = await on(b).approve(run, waiting.interruptId!);
    expect(done.end).toBe('complete');
    // The starting channel sees the same end.
    expect(await on(a).follow(run)).toEqual(done);
  });
});
