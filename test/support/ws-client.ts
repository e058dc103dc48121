import WebSocket from 'ws';
import { RunEvent, isTerminalEvent } from '../../src/runs/run-event';

export interface Frame {
  type: string;
  payload?: any;
  request_id?: string | number;
}

type Waiter = { test: (frame: Frame) => boolean; resolve: (frame: Frame) => void };

// A real `ws` client that records every frame and lets a test wait for the one it expects.
export class WsClient {
  readonly frames: Frame[] = [];
  private readonly waiters: Waiter[] = [];
  private nextId = 1;
  closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      this.frames.push(frame);
      for (const waiter of [...this.waiters]) {
        if (waiter.test(frame)) {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          waiter.resolve(frame);
        }
      }
    });
    this.closed = new Promise((resolve) =>
      socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
  }

  static connect(
    url: string,
    options: { token?: string; query?: boolean; autoPong?: boolean } = {},
  ): Promise<WsClient> {
    const target = options.query && options.token ? `${url}?token=${options.token}` : url;
    const headers =
      options.token && !options.query ? { authorization: `Bearer ${options.token}` } : {};
    // autoPong: false plays a peer that vanished without closing.
    const socket = new WebSocket(target, { headers, autoPong: options.autoPong ?? true });
    const client = new WsClient(socket);
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(client));
      socket.once('error', reject);
    });
  }

  // Resolves with the first frame (already received or still to come) that passes the test.
  waitFor(test: (frame: Frame) => boolean): Promise<Frame> {
    const seen = this.frames.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ test, resolve }));
  }

  sendRaw(data: string | Buffer): void {
    this.socket.send(data);
  }

  // Sends a request frame and resolves with its answer: ack, pong or error.
  async request(type: string, payload?: unknown): Promise<Frame> {
    const requestId = `r${this.nextId++}`;
    const answer = this.waitFor((f) => f.request_id === requestId);
    this.socket.send(JSON.stringify({ type, payload, request_id: requestId }));
    return answer;
  }

  updates(runId: string): RunEvent[] {
    return this.frames
      .filter((f) => f.type === 'agent_update' && f.payload.run_id === runId)
      .map((f) => f.payload as RunEvent);
  }

  async terminal(runId: string): Promise<RunEvent[]> {
    await this.waitFor(
      (f) =>
        f.type === 'agent_update' && f.payload.run_id === runId && isTerminalEvent(f.payload.type),
    );
    return this.updates(runId);
  }

  close(): Promise<unknown> {
    this.socket.close();
    return this.closed;
  }
}
