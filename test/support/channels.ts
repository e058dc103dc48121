import { RunEvent } from '../../src/runs/run-event';
import { RestClient } from './rest-client';
import { readSse } from './sse-client';
import { TestApp } from './test-app';
import { WsClient } from './ws-client';

export interface Started {
  run_id: string;
  thread_id: string;
  status: string;
  replayed: boolean;
}

// What a start may ask for beyond the query, on either channel.
export interface StartOptions {
  multitask_strategy?: 'reject' | 'enqueue' | 'interrupt';
  // The Idempotency-Key header over REST, idempotency_key in the frame over WebSocket.
  idempotency_key?: string;
}

export interface StartInput extends StartOptions {
  query: string;
  id?: string;
  thread_id?: string;
}

// What a client sees when a call fails, whichever channel it used.
export class ChannelError extends Error {
  constructor(
    readonly code: string,
    readonly fields: string[],
    readonly status?: number,
  ) {
    super(`${code} (${fields.join(', ')})`);
  }
}

// One user's view of the product through one channel. The parity suite runs the same scenario
// through both implementations and compares what comes out.
export interface Channel {
  readonly name: 'rest' | 'ws';
  start(input: StartInput): Promise<Started>;
  sendMessage(threadId: string, message: string, options?: StartOptions): Promise<Started>;
  // Follows a run from `after` until its terminal event, or until onEvent returns true.
  follow(
    runId: string,
    after?: number,
    onEvent?: (e: RunEvent) => boolean | void,
  ): Promise<RunEvent[]>;
  // Starts a run and follows it from its first event.
  startAndFollow(
    input: { query: string; thread_id?: string },
    onEvent?: (e: RunEvent, started: Started) => boolean | void,
  ): Promise<{ started: Started; events: RunEvent[] }>;
  cancel(runId: string): Promise<{ cancelled: boolean; status: string }>;
  status(runId: string): Promise<{ status: string; result?: string; error?: string }>;
  events(runId: string, after?: number): Promise<RunEvent[]>;
  history(threadId: string): Promise<{ role: string; content: string; run_id: string | null }[]>;
  createThread(title: string, idempotencyKey?: string): Promise<{ id: string; title: string }>;
  getThread(threadId: string): Promise<{ id: string; title: string }>;
  renameThread(threadId: string, title: string): Promise<{ id: string; title: string }>;
  deleteThread(threadId: string): Promise<void>;
  threadRuns(threadId: string): Promise<{ run_id: string; status: string }[]>;
  approve(
    runId: string,
    interruptId: string,
    decision: 'approve' | 'reject',
    message?: string,
    idempotencyKey?: string,
  ): Promise<{ status: string; replayed: boolean; decided_by: string; message: string | null }>;
  approvals(runId: string): Promise<{ id: string; status: string; tool: string }[]>;
  listThreads(): Promise<{ id: string; title: string }[]>;
  close(): Promise<void>;
}

export async function openChannel(
  name: 'rest' | 'ws',
  app: TestApp,
  userId: string,
): Promise<Channel> {
  const token = await app.token(userId);
  return name === 'rest'
    ? new RestChannel(app, token)
    : new WsChannel(await WsClient.connect(app.ws, { token }));
}

class RestChannel implements Channel {
  readonly name = 'rest';
  private readonly api: RestClient;

  constructor(
    private readonly app: TestApp,
    private readonly token: string,
  ) {
    this.api = new RestClient(app.http, token);
  }

  async start({ idempotency_key, ...input }: StartInput): Promise<Started> {
    return ok(await this.api.post('/api/agent/run_agent', input, keyed(idempotency_key)), 202);
  }

  async sendMessage(threadId: string, message: string, options: StartOptions = {}) {
    const { idempotency_key, ...rest } = options;
    const body = { message, ...rest };
    const res = await this.api.post(
      `/api/threads/${threadId}/messages`,
      body,
      keyed(idempotency_key),
    );
    return ok<Started>(res, 202);
  }

  async follow(runId: string, after = 0, onEvent?: (e: RunEvent) => boolean | void) {
    const url = `${this.app.http}/api/agent/${runId}/stream${after ? `?after=${after}` : ''}`;
    try {
      return (await readSse(url, { token: this.token, onEvent })).events;
    } catch (err) {
      // The stream refused to start: read the same URL's error body as a client would.
      const res = await this.api.get(`/api/agent/${runId}/stream`);
      throw toChannelError(res.status, res.body, err);
    }
  }

  async startAndFollow(
    input: { query: string; thread_id?: string },
    onEvent?: (e: RunEvent, started: Started) => boolean | void,
  ) {
    let started: Started | undefined;
    const result = await readSse(`${this.app.http}/api/agent/stream`, {
      token: this.token,
      method: 'POST',
      body: input,
      onEvent: (e) => {
        started ??= {
          run_id: e.run_id,
          thread_id: e.thread_id,
          status: 'started',
          replayed: false,
        };
        return onEvent?.(e, started);
      },
    });
    return { started: started!, events: result.events };
  }

  async cancel(runId: string) {
    return ok(await this.api.post(`/api/agent/${runId}/cancel`), 200);
  }

  async status(runId: string) {
    return ok(await this.api.get(`/api/agent/${runId}/status`), 200);
  }

  async events(runId: string, after = 0) {
    return ok(await this.api.get(`/api/agent/${runId}/events?after=${after}`), 200);
  }

  async history(threadId: string) {
    return (await ok<any>(await this.api.get(`/api/threads/${threadId}/messages?limit=100`), 200))
      .items;
  }

  async createThread(title: string, idempotencyKey?: string) {
    return ok(await this.api.post('/api/threads', { title }, keyed(idempotencyKey)), 201);
  }

  async listThreads() {
    return (await ok<any>(await this.api.get('/api/threads?limit=100'), 200)).items;
  }

  async getThread(threadId: string) {
    return ok(await this.api.get(`/api/threads/${threadId}`), 200);
  }

  async renameThread(threadId: string, title: string) {
    return ok(await this.api.patch(`/api/threads/${threadId}`, { title }), 200);
  }

  async deleteThread(threadId: string) {
    ok(await this.api.delete(`/api/threads/${threadId}`), 204);
  }

  async threadRuns(threadId: string) {
    return (await ok<any>(await this.api.get(`/api/threads/${threadId}/runs`), 200)).items;
  }

  async approve(
    runId: string,
    interruptId: string,
    decision: 'approve' | 'reject',
    message?: string,
    idempotencyKey?: string,
  ) {
    const res = await this.api.post(
      `/api/agent/${runId}/approvals/${interruptId}`,
      { decision, message },
      keyed(idempotencyKey),
    );
    return ok(res, 200);
  }

  async approvals(runId: string) {
    return ok(await this.api.get(`/api/agent/${runId}/approvals`), 200);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

class WsChannel implements Channel {
  readonly name = 'ws';

  constructor(readonly client: WsClient) {}

  async start(input: StartInput): Promise<Started> {
    return ack(await this.client.request('start_agent', input));
  }

  async sendMessage(threadId: string, message: string, options: StartOptions = {}) {
    const payload = { thread_id: threadId, message, ...options };
    return ack<Started>(await this.client.request('user_message', payload));
  }

  async follow(runId: string, after = 0, onEvent?: (e: RunEvent) => boolean | void) {
    await this.client.request('unsubscribe', { run_id: runId });
    const from = this.client.frames.length;
    // The ack names the run by its id, also when it was asked for by the client's own id.
    const subscribed = ack<{ run_id: string }>(
      await this.client.request('subscribe', { run_id: runId, after }),
    );
    return this.collect(subscribed.run_id, from, onEvent);
  }

  async startAndFollow(
    input: { query: string; thread_id?: string },
    onEvent?: (e: RunEvent, started: Started) => boolean | void,
  ) {
    const from = this.client.frames.length;
    const started = ack<Started>(await this.client.request('start_agent', input));
    const events = await this.collect(started.run_id, from, (e) => onEvent?.(e, started));
    return { started, events };
  }

  async cancel(runId: string) {
    return ack(await this.client.request('stop_agent', { run_id: runId }));
  }

  async status(runId: string) {
    return ack(await this.client.request('get_run_status', { run_id: runId }));
  }

  async events(runId: string, after = 0) {
    return ack(await this.client.request('get_run_events', { run_id: runId, after }));
  }

  async history(threadId: string) {
    return ack<any>(
      await this.client.request('get_thread_history', { thread_id: threadId, limit: 100 }),
    ).items;
  }

  async createThread(title: string, idempotencyKey?: string) {
    return ack(
      await this.client.request('create_thread', { title, idempotency_key: idempotencyKey }),
    );
  }

  async listThreads() {
    return ack<any>(await this.client.request('list_threads', { limit: 100 })).items;
  }

  async getThread(threadId: string) {
    return ack(await this.client.request('get_thread', { thread_id: threadId }));
  }

  async renameThread(threadId: string, title: string) {
    return ack(await this.client.request('update_thread', { thread_id: threadId, title }));
  }

  async deleteThread(threadId: string) {
    ack(await this.client.request('delete_thread', { thread_id: threadId }));
  }

  async threadRuns(threadId: string) {
    return ack<any>(await this.client.request('get_thread_runs', { thread_id: threadId })).items;
  }

  async approve(
    runId: string,
    interruptId: string,
    decision: 'approve' | 'reject',
    message?: string,
    idempotencyKey?: string,
  ) {
    const payload = {
      run_id: runId,
      interrupt_id: interruptId,
      decision,
      message,
      idempotency_key: idempotencyKey,
    };
    return ack(await this.client.request('approve_tool', payload));
  }

  async approvals(runId: string) {
    return ack(await this.client.request('get_approvals', { run_id: runId }));
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  // The updates for a run that arrive after frame index `from`, up to the terminal event (or until
  // onEvent says stop, after which the socket unsubscribes, like a client that goes away).
  private collect(
    runId: string,
    from: number,
    onEvent?: (e: RunEvent) => boolean | void,
  ): Promise<RunEvent[]> {
    return new Promise((resolve) => {
      const events: RunEvent[] = [];
      let index = from;
      const scan = (): boolean => {
        for (; index < this.client.frames.length; index++) {
          const frame = this.client.frames[index];
          if (frame.type !== 'agent_update' || frame.payload.run_id !== runId) continue;
          events.push(frame.payload);
          const terminal = ['agent_completed', 'agent_error', 'agent_cancelled'].includes(
            frame.payload.type,
          );
          if (onEvent?.(frame.payload) === true) {
            index++;
            void this.client.request('unsubscribe', { run_id: runId }).then(() => resolve(events));
            return true;
          }
          if (terminal) {
            resolve(events);
            return true;
          }
        }
        return false;
      };
      if (scan()) return;
      void this.client.waitFor(() => scan());
    });
  }
}

function keyed(key: string | undefined): Record<string, string> {
  return key === undefined ? {} : { 'idempotency-key': key };
}

function ok<T = any>(res: { status: number; body: any }, expected: number): T {
  if (res.status !== expected) throw toChannelError(res.status, res.body);
  return res.body as T;
}

function ack<T = any>(frame: { type: string; payload?: any }): T {
  if (frame.type === 'error') {
    throw new ChannelError(
      frame.payload.code,
      (frame.payload.errors ?? []).map((e: any) => e.field),
    );
  }
  return frame.payload as T;
}

function toChannelError(status: number, body: any, cause?: unknown): ChannelError {
  if (!body?.code) return new ChannelError(`http_${status}`, [], status);
  const error = new ChannelError(
    body.code,
    (body.errors ?? []).map((e: any) => e.field),
    status,
  );
  error.cause = cause;
  return error;
}
