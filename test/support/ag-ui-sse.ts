import { EventSource } from 'eventsource';

export interface AgUiRead {
  events: { type: string; [field: string]: unknown }[];
  // The SSE id of each event: `<seq>.<n>`, the n-th AG-UI event of run event seq (RUN_STARTED: 0).
  ids: string[];
  dropped: boolean;
  // A 204: the stream had ended, nothing was after Last-Event-ID.
  noContent: boolean;
}

const ENDS = ['RUN_FINISHED', 'RUN_ERROR'];

// Reads an AG-UI stream with the `eventsource` package (a real SSE client, posting the
// RunAgentInput): to the run's end, or until onEvent asks to drop the connection, or to a 204.
export function readAgUi(
  url: string,
  body: unknown,
  options: {
    token: string;
    lastEventId?: string;
    onEvent?: (event: AgUiRead['events'][number]) => boolean | void;
  },
): Promise<AgUiRead> {
  return new Promise((resolve, reject) => {
    const read: AgUiRead = { events: [], ids: [], dropped: false, noContent: false };
    const source = new EventSource(url, {
      fetch: (input, init) =>
        fetch(input, {
          ...init,
          method: 'POST',
          body: JSON.stringify(body),
          headers: {
            ...init.headers,
            authorization: `Bearer ${options.token}`,
            'content-type': 'application/json',
            ...(options.lastEventId ? { 'last-event-id': options.lastEventId } : {}),
          },
        }),
    });
    let done = false;
    const finish = (dropped: boolean) => {
      done = true;
      source.close();
      resolve({ ...read, dropped });
    };
    // Events already parsed from the same chunk still arrive after close(): they are not read.
    source.onmessage = (message) => {
      if (done) return;
      const event = JSON.parse(message.data) as AgUiRead['events'][number];
      read.events.push(event);
      read.ids.push(message.lastEventId);
      if (options.onEvent?.(event) === true) finish(true);
      else if (ENDS.includes(event.type)) finish(false);
    };
    source.onerror = (err) => {
      source.close();
      if (err.code === 204) return resolve({ ...read, noContent: true });
      reject(new Error(`AG-UI stream failed: ${err.message ?? err.code ?? 'closed'}`));
    };
  });
}
