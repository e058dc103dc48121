import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { readSse } from './support/sse-client';
import { CuttableProxy } from './support/cuttable-proxy';
import { RestClient } from './support/rest-client';
import { startTestApp, TestApp } from './support/test-app';

// What onprogress gets: the notification's params without the token (its _meta included).
interface Progress {
  progress: number;
  total?: number;
  message?: string;
  _meta?: Record<string, unknown>;
}
interface Structured {
  status: string;
  run_id: string;
  thread_id: string;
  interrupt_id?: string;
  answer?: string;
}

// The MCP channel driven by the official SDK's Client over StreamableHTTPClientTransport,
// against the real app.
describe('MCP channel (/mcp, Streamable HTTP)', () => {
  let app: TestApp;
  let token: string;
  let rest: RestClient;
  const clients: Client[] = [];

  beforeAll(async () => {
    app = await startTestApp();
    token = await app.token('mcp-alice');
    rest = new RestClient(app.http, token);
  });
  afterAll(async () => {
    for (const client of clients) await client.close();
    await app.close();
  });

  async function connect(base = app.http, bearer = token): Promise<Client> {
    const client = new Client({ name: 'netra-test', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${bearer}` } },
      reconnectionOptions: {
        initialReconnectionDelay: 10,
        maxReconnectionDelay: 100,
        reconnectionDelayGrowFactor: 1.5,
        maxRetries: 5,
      },
    });
    await client.connect(transport);
    clients.push(client);
    return client;
  }

  async function call(
    client: Client,
    name: string,
    args: Record<string, unknown>,
    options: { onprogress?: (p: Progress) => void; signal?: AbortSignal } = {},
  ) {
    const progress: Progress[] = [];
    const result = await client.callTool({ name, arguments: args }, CallToolResultSchema, {
      onprogress: (p) => {
        progress.push(p);
        options.onprogress?.(p);
      },
      signal: options.signal,
      resetTimeoutOnProgress: true,
    });
    return { result, structured: result.structuredContent as Structured, progress };
  }

  it('lists every agent as a tool, and approve', async () => {
    const client = await connect();
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['supervisor', 'researcher', 'approve']));
    const supervisor = tools.find((t) => t.name === 'supervisor')!;
    expect(supervisor.inputSchema).toMatchObject({
      type: 'object',
      required: ['query'],
      properties: { query: { type: 'string' }, thread_id: { type: 'string' } },
    });
  });

  it('calls an agent: progress for each event, the answer as the result, the run on every channel', async () => {
    const client = await connect();
    const { result, structured, progress } = await call(client, 'supervisor', {
      query: 'What is 17 * 23?',
    });
    expect(result.isError).toBe(false);
    expect(result.content).toEqual([{ type: 'text', text: '17 * 23 = 391.' }]);
    expect(structured).toMatchObject({ status: 'complete', answer: '17 * 23 = 391.' });
    // One notification per run event, in seq order, the tool call among them.
    const seqs = progress.map((p) => p.progress);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(seqs[0]).toBe(1);
    expect(progress.some((p) => p.message?.includes('calculator'))).toBe(true);
    const events = await rest.get(`/api/agent/${structured.run_id}/events`);
    expect(events.body.map((e: { seq: number }) => e.seq)).toEqual(seqs);
    expect((await rest.get(`/api/agent/${structured.run_id}/status`)).body.status).toBe('complete');
  });

  it('continues a thread named by the client', async () => {
    const client = await connect();
    const first = await call(client, 'supervisor', {
      query: 'What is 6 * 7?',
      thread_id: 'mcp-chat-1',
    });
    const second = await call(client, 'supervisor', {
      query: 'What is 2 + 2?',
      thread_id: 'mcp-chat-1',
    });
    expect(second.structured.thread_id).toBe(first.structured.thread_id);
    const history = await rest.get(`/api/threads/${first.structured.thread_id}/messages`);
    expect(history.body.items).toHaveLength(4);
  });

  it('returns requires_action for a tool call waiting for a person, and approve finishes the run', async () => {
    const client = await connect();
    const waiting = await call(client, 'supervisor', { query: 'notify me that the build is done' });
    expect(waiting.result.isError).toBe(false);
    expect(waiting.structured).toMatchObject({ status: 'requires_action', tool: 'notify' });
    const approved = await call(client, 'approve', {
      interrupt_id: waiting.structured.interrupt_id,
      decision: 'approve',
    });
    expect(approved.structured).toMatchObject({
      status: 'complete',
      run_id: waiting.structured.run_id,
    });
    expect(approved.progress.map((p) => p.message)).toEqual(
      expect.arrayContaining([expect.stringContaining('notify')]),
    );
  });

  it('cancels the run when the client cancels the call', async () => {
    const client = await connect();
    const abort = new AbortController();
    let runId: string | undefined;
    const cancelled = call(
      client,
      'supervisor',
      { query: 'wait 30 seconds' },
      {
        signal: abort.signal,
        onprogress: (p) => {
          runId ??= (p._meta as Record<string, string>)['netra/run_id'];
          if (p.message?.includes('wait')) abort.abort('changed my mind');
        },
      },
    );
    await expect(cancelled).rejects.toThrow();
    // The cancellation reached the run: its stream ends with agent_cancelled.
    const { events } = await readSse(`${app.http}/api/agent/${runId}/stream`, { token });
    expect(events.at(-1)?.type).toBe('agent_cancelled');
  });

  it('resumes a call whose connection dropped, from where it was (Last-Event-ID), to its answer', async () => {
    const { port } = new URL(app.http);
    const proxy = await CuttableProxy.start({ host: '127.0.0.1', port: Number(port) });
    try {
      const client = await connect(proxy.origin);
      let cut = false;
      const { result, progress } = await call(
        client,
        'supervisor',
        { query: 'wait 300 ms then what is 4 * 4?' },
        {
          onprogress: (p) => {
            if (!cut && p.message?.includes('wait')) {
              cut = true;
              proxy.cutAll();
            }
          },
        },
      );
      expect(result.content).toEqual([{ type: 'text', text: expect.stringContaining('16') }]);
      // The client came back with a GET carrying Last-Event-ID, and nothing came twice.
      expect(proxy.requests.filter((r) => r.startsWith('GET /mcp'))).not.toHaveLength(0);
      const seqs = progress.map((p) => p.progress);
      expect(new Set(seqs).size).toBe(seqs.length);
      const all = await rest.get(
        `/api/agent/${(result.structuredContent as Structured).run_id}/events`,
      );
      expect(seqs).toEqual(all.body.map((e: { seq: number }) => e.seq));
    } finally {
      await proxy.close();
    }
  });

  it('answers what is not MCP, or not valid for the tool, with an error, and goes on serving', async () => {
    const post = (body: string) =>
      fetch(`${app.http}/mcp`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body,
      });
    const batch = await post(
      JSON.stringify([
        { jsonrpc: '2.0', id: 1, method: 'tools/list' },
        { jsonrpc: '2.0', id: 2, method: 'tools/list' },
      ]),
    );
    expect(batch.status).toBe(400);
    const notRpc = await post('{"hello":"world"}');
    expect(notRpc.status).toBe(400);
    expect(((await notRpc.json()) as { error: { code: number } }).error.code).toBe(-32700);
    const client = await connect();
    const bad = await call(client, 'supervisor', { query: '' });
    expect(bad.result.isError).toBe(true);
    expect(JSON.stringify(bad.result.content)).toContain('query');
    const unknown = client.callTool({ name: 'nobody', arguments: {} });
    await expect(unknown).resolves.toMatchObject({ isError: true });
    expect((await call(client, 'supervisor', { query: 'What is 1 + 1?' })).structured.status).toBe(
      'complete',
    );
  });

  it('refuses a client without a token, and keeps users apart', async () => {
    await expect(connect(app.http, 'not-a-token')).rejects.toThrow(/401/);
    const alice = await connect();
    const waiting = await call(alice, 'supervisor', { query: 'notify me that the deploy is done' });
    const mallory = await connect(app.http, await app.token('mcp-mallory'));
    const theirs = await call(mallory, 'approve', {
      interrupt_id: waiting.structured.interrupt_id,
      decision: 'approve',
    });
    expect(theirs.result.isError).toBe(true);
    expect(theirs.structured).toMatchObject({ status: 'error', error: { code: 'not_found' } });
    const approvals = await rest.get(`/api/agent/${waiting.structured.run_id}/approvals`);
    expect(approvals.body[0].status).toBe('pending');
  });
});
