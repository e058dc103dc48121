import { Observable, Subscription } from 'rxjs';
import { WebSocket } from 'ws';
import { AuthenticatedUser } from '../context/user-context';
import { RunEvent } from '../runs/run-event';

export type ServerFrame = {
  type: string;
  payload?: unknown;
  request_id?: string | number;
};

// One connected socket: its user (once the token is verified) and the runs it follows.
export class WsSession {
  private readonly subscriptions = new Map<string, Subscription>();
  closed = false;
  // Answered the last heartbeat ping (or just connected).
  alive = true;

  constructor(
    readonly socket: WebSocket,
    readonly user: Promise<AuthenticatedUser>,
  ) {}

  send(frame: ServerFrame): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(frame));
  }

  // Following a run again replaces the earlier subscription, from the new position.
  follow(runId: string, events: Observable<RunEvent> | null): void {
    // A frame handled while the socket closed must not leave a subscription behind.
    if (this.closed || !events) return;
    this.unfollow(runId);
    const subscription = events.subscribe({
      next: (event) => this.send({ type: 'agent_update', payload: event }),
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
    this.subscriptions.forEach((s) => s.unsubscribe());
    this.subscriptions.clear();
  }
}
