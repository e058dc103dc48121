import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Observable, Subscription } from 'rxjs';
import { WebSocket } from 'ws';
import { AuthenticatedUser } from '../context/user-context';
import { RunEvent } from '../runs/run-event';
import { recordPush } from '../metrics/metrics';
import { encodeOnce } from '../runs/run-event.encoding';

export type ServerFrame = {
  type: string;
  payload?: unknown;
  request_id?: string | number;
};

export const UNAUTHORIZED_CLOSE = 4401;
export const GOING_AWAY_CLOSE = 1001;
export const POLICY_CLOSE = 1008;
// "Try again later": the client did not read what it was sent.
export const TOO_SLOW_CLOSE = 1013;
// A socket closed for being too slow gets this long to take its close frame before it is cut.
const TERMINATE_AFTER_MS = 1_000;
const MAX_TIMER_MS = 2 ** 31 - 1;

// One connected socket: its user (checked before the upgrade), the runs it follows, and what keeps
// it honest: a bound on what it leaves unread, and a heartbeat only it can answer.
export class WsSession {
  private readonly subscriptions = new Map<string, Subscription>();
  private expiry?: NodeJS.Timeout;
  private nonce?: Buffer;
  closed = false;
  // Answered the last heartbeat ping (or just connected).
  alive = true;

  constructor(
    readonly socket: WebSocket,
    readonly user: AuthenticatedUser,
    private readonly maxBufferedBytes: number,
  ) {
    // Only a pong that carries the ping's own nonce counts: one sent unasked proves nothing.
    socket.on('pong', (data: Buffer) => {
      if (this.nonce && data.equals(this.nonce)) this.alive = true;
    });
    // A socket must not outlive its token (REST checks every request).
    if (user.expiresAt !== undefined) this.expireAt(user.expiresAt);
  }

  // Timers fire at once past 2^31-1 ms (about 24.8 days): a longer wait is taken in steps.
  private expireAt(expiresAt: number): void {
    const left = Math.max(0, expiresAt - Date.now());
    this.expiry = setTimeout(
      () => {
        if (left > MAX_TIMER_MS) return this.expireAt(expiresAt);
        this.send({
          type: 'error',
          payload: { code: 'unauthorized', message: 'The bearer token has expired; reconnect' },
        });
        this.socket.close(UNAUTHORIZED_CLOSE, 'token expired');
      },
      Math.min(left, MAX_TIMER_MS),
    );
    this.expiry.unref();
  }

  // A heartbeat round: false when the last ping went unanswered (the peer is gone or stuck).
  ping(): boolean {
    if (!this.alive) return false;
    this.alive = false;
    this.nonce = randomBytes(8);
    this.socket.ping(this.nonce);
    return true;
  }

  send(frame: ServerFrame): void {
    this.sendText(JSON.stringify(frame));
  }

  private sendText(text: string | Buffer): void {
    if (this.closed || this.socket.readyState !== WebSocket.OPEN) return;
    // Whatever it has not read stays in this process: past the bound the socket goes, and its
    // subscriptions with it; other sockets are not affected.
    if (this.socket.bufferedAmount > this.maxBufferedBytes) return this.tooSlow();
    this.socket.send(text, { binary: false });
  }

  // Following a run again replaces the earlier subscription, from the new position.
  follow(runId: string, events: Observable<RunEvent> | null): void {
    // A frame handled while the socket closed must not leave a subscription behind.
    if (this.closed || !events) return;
    this.unfollow(runId);
    const subscription = events.subscribe({
      next: (event) => {
        this.sendText(encodeOnce(event, 'ws', updateFrame));
        recordPush('ws', event);
      },
      complete: () => this.subscriptions.delete(runId),
      error: () => {
        this.subscriptions.delete(runId);
        this.send({
          type: 'error',
          payload: {
            code: 'internal',
            message: `the event stream of run ${runId} failed; subscribe again`,
          },
        });
      },
    });
    if (!subscription.closed) this.subscriptions.set(runId, subscription);
  }

  follows(runId: string): boolean {
    return this.subscriptions.has(runId);
  }

  unfollow(runId: string): boolean {
    const subscription = this.subscriptions.get(runId);
    subscription?.unsubscribe();
    return this.subscriptions.delete(runId);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.expiry);
    this.subscriptions.forEach((s) => s.unsubscribe());
    this.subscriptions.clear();
  }

  private tooSlow(): void {
    Logger.warn(
      `closed a socket of user ${this.user.id} that left ${this.socket.bufferedAmount} bytes unread ` +
        `(WS_MAX_BUFFERED_BYTES ${this.maxBufferedBytes})`,
      'WebSocket',
    );
    this.close();
    this.socket.close(TOO_SLOW_CLOSE, 'too much unread output');
    setTimeout(() => this.socket.terminate(), TERMINATE_AFTER_MS).unref();
  }
}

// An event's frame, as bytes: made once for every socket following the run (ws would otherwise
// turn the same string into a buffer per socket).
function updateFrame(event: RunEvent): Buffer {
  return Buffer.from(JSON.stringify({ type: 'agent_update', payload: event }));
}
