export type StreamedKind = 'agent_thinking' | 'agent_response_chunk';

// Turns a model's many small deltas into few events: text is held until it reaches maxChars or has
// waited maxDelayMs, so a long answer is tens of events, not thousands. The first delta of each
// kind in a turn is not held: the first words a user sees (time to first token) wait for nothing
// but their own write. Writes happen one at a time, in order; what arrives while one is in flight
// goes in the next. A failed write (the run was cancelled) surfaces at the next push or at drain().
// One coalescer per model turn.
export class EventCoalescer {
  private kind: StreamedKind | null = null;
  private readonly begun = new Set<StreamedKind>();
  private text = '';
  private timer?: NodeJS.Timeout;
  private writes: Promise<void> = Promise.resolve();
  private failure: Error | null = null;

  constructor(
    private readonly write: (kind: StreamedKind, text: string) => Promise<void>,
    private readonly maxDelayMs = 50,
    private readonly maxChars = 200,
  ) {}

  push(kind: StreamedKind, text: string): void {
    if (this.failure) throw this.failure;
    if (this.kind !== kind) this.flush();
    this.kind = kind;
    this.text += text;
    if (!this.begun.has(kind)) {
      this.begun.add(kind);
      this.flush();
    } else if (this.text.length >= this.maxChars) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.maxDelayMs);
  }

  // Writes everything held so far and waits for it; throws if a write failed.
  async drain(): Promise<void> {
    this.flush();
    await this.writes;
    if (this.failure) throw this.failure;
  }

  // Drops what is held without writing it (the turn failed).
  discard(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.text = '';
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.text || !this.kind) return;
    const kind = this.kind;
    const text = this.text;
    this.text = '';
    this.writes = this.writes
      .then(() => (this.failure ? undefined : this.write(kind, text)))
      .catch((err: unknown) => {
        this.failure ??= err instanceof Error ? err : new Error(String(err));
      });
  }
}
