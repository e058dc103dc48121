import { EventSource } from 'eventsource';
import { RUN_EVENT_TYPES, RunEvent, isTerminalEvent } from '../../src/runs/run-event';

export interface SseOptions {
  // None: as a browser's EventSource, which cannot send headers (a `?ticket=` in the URL instead).
  token?: string;
  lastEventId?: string;
  method?: 'GET' | 'POST';
  body?: unknown;
  headers?: Record<string, string>;
  // Called for each event; return true to drop the connection right after it.
  onEvent?: (event: RunEvent) => boolean | void;
}

export interface SseResult {
  events: RunEvent[];
  ids: string[];
  // true when the client closed the stream itself (onEvent asked to), false at a terminal event.
  dropped: boolean;
  headers?: Headers;
}

// Reads a run's stream with the `eventsource` package, a real SSE client. It resolves at the
// terminal event, or when onEvent asks to drop the connection.
export function readSse(url: string, options: SseOptions): Promise<SseResult> {
  return new Promise((resolve, reject) => {
    const events: RunEvent[] = [];
    const ids: string[] = [];
    let headers: Headers | undefined;
    const source = new EventSource(url, {
      fetch: async (input, init) => {
        const res = await fetch(input, {
          ...init,
          method: options.method ?? 'GET',
          body: options.body === undefined ? undefined : JSON.stringify(options.body),
          headers: {
            ...init.headers,
            ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
            ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
            ...(options.lastEventId ? { 'last-event-id': options.lastEventId } : {}),
            ...options.headers,
          },
        });
        headers ??= res.headers;
        return res;
      },
    });
    let done = false;
    const finish = (dropped: boolean) => {
      done = true;
      source.close();
      resolve({ events, ids, dropped, headers });
    };
    for (const type of RUN_EVENT_TYPES) {
      source.addEventListener(type, (message) => {
        // Events parsed from the same chunk still arrive after close(): they are not read.
        if (done) return;
        const event = JSON.parse(message.data) as RunEvent;
        events.push(event);
        ids.push(message.lastEventId);
        if (options.onEvent?.(event) === true) finish(true);
        else if (isTerminalEvent(event.type)) finish(false);
      });
    }
    source.onerror = (err) => {
      // A finished stream is closed by the server; anything else before the end is a failure.
      if (source.readyState === EventSource.CLOSED || err.code !== undefined) {
        source.close();
        reject(new Error(`SSE failed: ${err.code ?? ''} ${err.message ?? ''}`));
      }
    };
  });
}
