import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Request, Response } from 'express';
import { Observable } from 'rxjs';
import { DomainError } from '../common/domain.error';
import { toErrorPayload } from '../common/error-response';
import { requestIdOf } from '../common/request-id';
import { EnvironmentVariables } from '../config/env.validation';
import { RunEvent } from '../runs/run-event';
import { openStreams, recordPush } from '../metrics/metrics';
import { encodeOnce } from '../runs/run-event.encoding';

// Writes a run's events as Server-Sent Events: `id` is the seq (so Last-Event-ID resumes exactly),
// `event` the type, `data` the same event object /events returns.
@Injectable()
export class SseWriter implements BeforeApplicationShutdown {
  private readonly heartbeatMs: number;
  // The streams open now, each with how to end it; none opens once the app is closing.
  private readonly open = new Set<() => void>();
  private closing = false;

  // Streams open per user on this instance (MAX_STREAMS_PER_USER).
  private readonly perUser = new Map<string, number>();
  private readonly maxPerUser: number;
  // What a stream may leave unsent before it is cut: the WebSocket's bound.
  private readonly maxBufferedBytes: number;

  constructor(config: ConfigService<EnvironmentVariables, true>) {
    this.heartbeatMs = config.get('SSE_HEARTBEAT_MS', { infer: true });
    this.maxPerUser = config.get('MAX_STREAMS_PER_USER', { infer: true });
    this.maxBufferedBytes = config.get('WS_MAX_BUFFERED_BYTES', { infer: true });
  }

  // Refuses a stream past the user's cap, before the run is looked up or started. The stream's
  // place is taken here, in the same tick as the check (so concurrent requests cannot all pass it),
  // and given back when the response closes, whether it streamed or was refused later on.
  admit(req: Request, res: Response): void {
    const user = req.user?.id ?? '';
    const open = this.perUser.get(user) ?? 0;
    if (open >= this.maxPerUser) {
      throw new DomainError('rate_limited', 'Too many open streams; close one first', {
        retry_after_ms: 5_000,
      });
    }
    this.perUser.set(user, open + 1);
    res.once('close', () => {
      const left = (this.perUser.get(user) ?? 1) - 1;
      if (left > 0) this.perUser.set(user, left);
      else this.perUser.delete(user);
    });
  }

  // On shutdown (after the runs in hand were finished or handed back) the open streams end; an
  // EventSource reconnects with Last-Event-ID, to another instance behind a load balancer, and
  // resumes with no gap. Without this the HTTP server would wait for every streaming client.
  beforeApplicationShutdown(): void {
    this.closing = true;
    for (const end of [...this.open]) end();
  }

  // A stream another library writes (the MCP SDK's transport): ended with the others at shutdown,
  // by `end`, so the client reconnects elsewhere.
  track(res: Response, end: () => void): void {
    const stop = (): void => {
      if (this.open.delete(stop)) end();
    };
    this.open.add(stop);
    res.once('close', () => this.open.delete(stop));
    if (this.closing) stop();
  }

  // A run's events as our own SSE frames. `null`: the run has ended and the client has
  // everything; 204 tells an EventSource to stop reconnecting, which a closed 200 stream would not.
  pipe(events: Observable<RunEvent> | null, req: Request, res: Response): void {
    if (!events) {
      res.status(204).end();
      return;
    }
    this.stream(events, req, res, {
      frame: (event) => {
        recordPush('sse', event);
        return encodeOnce(event, 'sse', sseFrame);
      },
      error: (payload) => `event: error\ndata: ${JSON.stringify(payload)}\n\n`,
    });
  }

  // Any channel's Server-Sent Events: each item becomes what `frame` returns (one or more SSE
  // frames), the stream ends when `items` completes, and a failure becomes the frame `error`
  // makes of the error payload. Heartbeats, the per-user cap, the send bound and the shutdown
  // are the same for every SSE channel.
  stream<T>(
    items: Observable<T>,
    req: Request,
    res: Response,
    write: { frame(item: T): string | Buffer; error(payload: object): string },
  ): void {
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('Connection', 'keep-alive');
    res.setHeader('X-Accel-Buffering', 'no'); // proxies must not buffer a stream
    res.flushHeaders();
    res.write('retry: 2000\n\n');

    // A comment line keeps idle connections open through proxies and load balancers.
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), this.heartbeatMs);
    openStreams.inc();
    const end = (): void => {
      if (!this.open.delete(end)) return;
      openStreams.dec();
      clearInterval(heartbeat);
      if (!res.writableEnded) res.end();
    };
    this.open.add(end);
    // Opened as the app closes (its request was in flight): ended at once, the client reconnects.
    if (this.closing) return end();
    const subscription = items.subscribe({
      next: (item) => {
        if (res.destroyed) return;
        res.write(write.frame(item));
        // A reader that does not keep up is cut off past the bound (as a WebSocket is): it
        // reconnects with Last-Event-ID and loses nothing, and the server does not hold the rest.
        if (res.writableLength > this.maxBufferedBytes) res.destroy();
      },
      complete: end,
      error: (err: unknown) => {
        if (!res.destroyed) res.write(write.error(toErrorPayload(err, requestIdOf(req)).payload));
        end();
      },
    });
    // The response's close, not the request's: a POST request has closed once its body was read.
    res.on('close', () => {
      subscription.unsubscribe();
      end();
    });
  }
}

// Last-Event-ID (sent by EventSource on reconnect) wins over ?after, which a reconnect repeats.
export function resumePoint(after: number | undefined, lastEventId: string | undefined): number {
  if (lastEventId === undefined || lastEventId === '') return after ?? 0;
  if (!/^\d{1,9}$/.test(lastEventId.trim())) {
    throw DomainError.validation([
      { field: 'Last-Event-ID', messages: ['Last-Event-ID must be a non-negative integer'] },
    ]);
  }
  return Number(lastEventId.trim());
}

// An event as one SSE frame, made once for every stream following the run.
function sseFrame(event: RunEvent): Buffer {
  return Buffer.from(`id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
}
