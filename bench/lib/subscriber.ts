// A client following one run, over either channel, as the fan-out, subscribe and memory figures
// open them.

// Where one subscriber reports what it receives.
export interface FrameSink {
  // An event of the run, with its seq, at `at` (performance.now() when its bytes were read).
  frame(seq: number, at: number): void;
  // Anything else: an error frame, a close the client did not ask for.
  problem(what: string): void;
}

export interface Subscriber {
  // Closes the connection; resolves once the server has closed its side too, so it has let go
  // of the subscription before whatever is measured next.
  close(): Promise<void>;
}

export interface Channel {
  name: string;
  // Connects, authenticates with `token` and follows `runId` after seq `after`; resolves once
  // subscribed (the WebSocket `subscribe` ack, the first bytes of the SSE stream).
  open(
    port: number,
    token: string,
    runId: string,
    after: number,
    sink: FrameSink,
  ): Promise<Subscriber>;
}
