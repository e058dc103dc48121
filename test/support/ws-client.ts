import WebSocket from 'ws';
import { RunEvent, isTerminalEvent } from '../../src/runs/run-event';

export interface Frame {
  type: string;
  payload?: any;
  request_id?: string | number;
}

type Waiter = { test: (frame: Frame) => boolean; resolve: (frame: Frame) => void };

export interface ConnectOptions {
  token?: string;
  // The token in ?token= (the legacy browser way) instead of the Authorization header.
  query?: boolean;
  ticket?: string;
  origin?: string;
  autoPong?: boolean;
}

function target(url: string, options: ConnectOptions): string {
  if (options.ticket) return `${url}?ticket=${encodeURIComponent(options.ticket)}`;
  return options.query && options.token ? `${url}?token=${options.token}` : url;
}

function headers(options: ConnectOptions): Record<string, string> {
  return {
    ...(options.token && !options.query ? { authorization: `Bearer ${options.token}` } : {}),
    ...(options.origin ? { origin: options.origin } : {}),
  };
}

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

  static connect(url: string, options: ConnectOptions = {}): Promise<WsClient> {
    // autoPong: false plays a peer that vanished without closing.
    const socket = new WebSocket(target(url, options), {
      headers: headers(options),
      autoPong: options.autoPong ?? true,
    });
    const client = new WsClient(socket);
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(client));
      socket.once('error', reject);
    });
  }

  // What the server answers a handshake: 101 (then closed again) or the status it refused with.
  static handshake(url: string, options: ConnectOptions = {}): Promise<number> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(target(url, options), { headers: headers(options) });
      socket.once('open', () => {
        socket.close();
        resolve(101);
      });
      socket.once('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        res.resume();
        socket.terminate();
      });
      socket.once('error', (err) => {
        if (!/Unexpected server response/.test(err.message)) reject(err);
      });
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
