import { ApiError } from './api';
import { ErrorBody, RunEvent } from './types';

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'offline' | 'closed';

// A request the server answered with an `error` frame.
export class FrameError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

// The socket went away before the request was answered: it may or may not have been handled.
export class Disconnected extends Error {
  constructor() {
    super('the connection was lost');
  }
}

export interface ConnectionHandlers {
  // A fresh single-use ticket for each handshake (POST /api/stream-tickets).
  ticket(): Promise<string>;
  onEvent(event: RunEvent): void;
  // Every time a socket opens: the place to resume what was followed.
  onOpen(reconnected: boolean): void;
  onState(state: ConnectionState, detail: string): void;
  // An error frame not tied to a request (a failed event stream).
  onError(message: string): void;
  // The token is refused or has expired: nothing to retry.
  onExpired(): void;
}

interface ServerFrame {
  type: string;
  request_id?: string | number;
  payload?: unknown;
}

interface Pending {
  resolve(payload: unknown): void;
  reject(err: Error): void;
  timer: number;
}

const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 15_000;
// The server pings too, but a browser cannot see those: our own ping finds a half-open socket.
const HEARTBEAT_MS = 25_000;
const PONG_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;
const TOKEN_EXPIRED_CLOSE = 4401;

// The chat's one WebSocket: authenticated with a single-use ticket per handshake (the long-lived
// token never goes into a URL), requests matched to their ack by request_id, and, when the socket
// drops, reconnection with exponential backoff and jitter. What to resume is RunFeeds' job.
export class Connection {
  private socket?: WebSocket;
  private attempt = 0;
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private stopped = false;
  private everOpened = false;
  // Between asking for a ticket and the socket's first answer.
  private connecting = false;
  private retryTimer?: number;
  private heartbeat?: number;
  private waiters: { resolve(): void; reject(err: Error): void }[] = [];

  constructor(private readonly handlers: ConnectionHandlers) {}

  start(): void {
    window.addEventListener('online', this.retryNow);
    window.addEventListener('offline', this.wentOffline);
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    window.removeEventListener('online', this.retryNow);
    window.removeEventListener('offline', this.wentOffline);
    window.clearTimeout(this.retryTimer);
    const socket = this.socket;
    if (socket) this.dropped(socket);
    socket?.close(1000, 'signed out');
    for (const waiter of this.waiters.splice(0)) waiter.reject(new Error('signed out'));
    this.setState('closed', 'Signed out');
  }

  get isOpen(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  // Sends a frame once the socket is open and resolves with its ack's payload.
  async request<T>(type: string, payload?: object, timeoutMs = REQUEST_TIMEOUT_MS): Promise<T> {
    await this.whenOpen();
    const socket = this.socket!;
    const id = `r${this.nextId++}`;
    return new Promise<T>((resolve, reject) => {
      const timer = window.setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no answer to ${type} within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      socket.send(
        JSON.stringify(payload ? { type, payload, request_id: id } : { type, request_id: id }),
      );
    });
  }

  // Reconnects now instead of at the end of the backoff (the network is back).
  readonly retryNow = (): void => {
    if (this.stopped || this.socket || this.connecting) return;
    window.clearTimeout(this.retryTimer);
    this.attempt = 0;
    void this.connect();
  };

  private readonly wentOffline = (): void => {
    if (!this.socket) this.setState('offline', 'Offline: waiting for the network…');
  };

  private whenOpen(): Promise<void> {
    if (this.stopped) return Promise.reject(new Error('signed out'));
    if (this.isOpen) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    this.connecting = true;
    this.setState(
      this.everOpened ? 'reconnecting' : 'connecting',
      this.everOpened ? 'Reconnecting…' : 'Connecting…',
    );
    let ticket: string;
    try {
      ticket = await this.handlers.ticket();
    } catch (err) {
      this.connecting = false;
      if (err instanceof ApiError && err.status === 401) return this.handlers.onExpired();
      return this.retryLater();
    }
    this.connecting = false;
    if (this.stopped) return;
    const url = new URL('/ws', location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('ticket', ticket);
    const socket = new WebSocket(url);
    this.socket = socket;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      const reconnected = this.everOpened;
      this.everOpened = true;
      this.attempt = 0;
      this.setState('open', 'Connected');
      this.heartbeat = window.setInterval(() => this.ping(socket), HEARTBEAT_MS);
      for (const waiter of this.waiters.splice(0)) waiter.resolve();
      this.handlers.onOpen(reconnected);
    };
    socket.onmessage = (message) => {
      if (this.socket === socket && typeof message.data === 'string') this.onFrame(message.data);
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.dropped(socket);
      if (this.stopped) return;
      if (event.code === TOKEN_EXPIRED_CLOSE) return this.handlers.onExpired();
      this.retryLater();
    };
  }

  // Forgets a socket that closed (or that we gave up on): its requests fail, nothing more is read.
  private dropped(socket: WebSocket): void {
    if (this.socket !== socket) return;
    this.socket = undefined;
    window.clearInterval(this.heartbeat);
    for (const [id, pending] of this.pending) {
      window.clearTimeout(pending.timer);
      pending.reject(new Disconnected());
      this.pending.delete(id);
    }
  }

  private retryLater(): void {
    if (this.stopped) return;
    const delay =
      Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** this.attempt) * (0.5 + Math.random() / 2);
    this.attempt += 1;
    if (!navigator.onLine) {
      // The `online` event reconnects at once; the timer is a fallback.
      this.setState('offline', 'Offline: waiting for the network…');
    } else {
      this.setState(
        'reconnecting',
        `Connection lost. Reconnecting in ${Math.ceil(delay / 1000)} s…`,
      );
    }
    this.retryTimer = window.setTimeout(() => void this.connect(), delay);
  }

  private ping(socket: WebSocket): void {
    this.request('ping', undefined, PONG_TIMEOUT_MS).catch((err: unknown) => {
      if (err instanceof Disconnected || this.socket !== socket) return;
      // No pong: the socket is dead without knowing it. Give up on it and reconnect.
      this.dropped(socket);
      socket.close(4000, 'no pong');
      this.retryLater();
    });
  }

  private onFrame(text: string): void {
    let frame: ServerFrame;
    try {
      frame = JSON.parse(text) as ServerFrame;
    } catch {
      return;
    }
    if (frame.type === 'agent_update') {
      this.handlers.onEvent(frame.payload as RunEvent);
      return;
    }
    const id = frame.request_id === undefined ? undefined : String(frame.request_id);
    const pending = id === undefined ? undefined : this.pending.get(id);
    if (!pending) {
      if (frame.type === 'error') {
        this.handlers.onError((frame.payload as ErrorBody | undefined)?.message ?? 'error');
      }
      return;
    }
    this.pending.delete(id!);
    window.clearTimeout(pending.timer);
    if (frame.type === 'error') {
      const body = (frame.payload ?? {}) as ErrorBody;
      pending.reject(new FrameError(body.code ?? 'error', body.message ?? 'the request failed'));
    } else {
      pending.resolve(frame.payload);
    }
  }

  private setState(state: ConnectionState, detail: string): void {
    this.handlers.onState(state, detail);
  }
}
