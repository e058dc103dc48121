export type StreamedKind = 'agent_thinking' | 'agent_response_chunk';

// A stretch of streamed text of one kind: one event.
export interface Streamed {
  kind: StreamedKind;
  text: string;
}

// Turns a model's many small deltas into few events: text is held until it reaches maxChars or has
// waited maxDelayMs, so a long answer is tens of events, not thousands. The first delta of each
// kind in a turn is not held: the first words a user sees (time to first token) wait for nothing
// but their own write. At most one write is in flight: whatever arrives meanwhile is merged into
// the one write that follows it (as events of at most maxChars each), so however slow the
// database, a turn never queues writes behind writes and never falls behind the model. A failed
// write (the run was cancelled) surfaces at the next push or at drain(). One coalescer per model
// turn.
export class EventCoalescer {
  // What the next write carries, in order, text of the same kind merged.
  private held: Streamed[] = [];
  private heldChars = 0;
  private readonly begun = new Set<StreamedKind>();
  private timer?: NodeJS.Timeout;
  private inFlight: Promise<void> | null = null;
  // The held text goes as soon as the write in flight is done.
  private due = false;
  // The turn is over (see rest()): nothing more is written.
  private ended = false;
  private failure: Error | null = null;

  constructor(
    private readonly write: (events: Streamed[]) => Promise<void>,
    private readonly maxDelayMs = 50,
    private readonly maxChars = 200,
  ) {}

  push(kind: StreamedKind, text: string): void {
    if (this.failure) throw this.failure;
    const last = this.held[this.held.length - 1];
    if (last?.kind === kind) last.text += text;
    else this.held.push({ kind, text });
    this.heldChars += text.length;
    if (!this.begun.has(kind)) {
      this.begun.add(kind);
      this.flush();
    } else if (this.heldChars >= this.maxChars) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.maxDelayMs);
  }

  // Writes everything held so far and waits for it; throws if a write failed.
  async drain(): Promise<void> {
    this.flush();
    while (this.inFlight) await this.inFlight;
    if (this.failure) throw this.failure;
  }

  // Ends the turn: waits for the write in flight and returns what is still held, unwritten, for
  // the caller to write with whatever it writes next (at the end of a turn that is at once: the
  // tool call, the answer), so a turn's last text takes no commit of its own. Throws if a write
  // failed.
  async rest(): Promise<Streamed[]> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.ended = true;
    while (this.inFlight) await this.inFlight;
    if (this.failure) throw this.failure;
    return this.take();
  }

  // Drops what is held without writing it (the turn failed).
  discard(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.held = [];
    this.heldChars = 0;
    this.due = false;
  }

  // What is held, as events of at most maxChars, and nothing held any more.
  private take(): Streamed[] {
    const events = this.held.flatMap(({ kind, text }) =>
      pieces(text, this.maxChars).map((piece) => ({ kind, text: piece })),
    );
    this.held = [];
    this.heldChars = 0;
    this.due = false;
    return events;
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.held.length === 0 || this.failure) return;
    if (this.inFlight) {
      this.due = true;
      return;
    }
    const events = this.take();
    this.inFlight = Promise.resolve()
      .then(() => this.write(events))
      .then(
        () => {
          this.inFlight = null;
          if (!this.ended && (this.due || this.heldChars >= this.maxChars)) this.flush();
        },
        (err: unknown) => {
          this.inFlight = null;
          this.failure ??= err instanceof Error ? err : new Error(String(err));
        },
      );
  }
}

// The text in pieces of at most `size` UTF-16 units, never splitting a surrogate pair.
function pieces(text: string, size: number): string[] {
  const out: string[] = [];
  for (let at = 0; at < text.length;) {
    let end = Math.min(at + size, text.length);
    const code = text.charCodeAt(end - 1);
    if (end < text.length && code >= 0xd800 && code <= 0xdbff && end - 1 > at) end -= 1;
    out.push(text.slice(at, end));
    at = end;
  }
  return out;
}
