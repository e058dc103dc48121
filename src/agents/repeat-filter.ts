import { Streamed, StreamedKind } from './event-coalescer';

// What a model turn had streamed when its execution stopped (clients have it): the text of each
// kind, and the last event before it.
export interface PartialTurn {
  agent: string;
  step: number;
  afterSeq: number;
  text: Record<StreamedKind, string>;
}

export interface Dropped {
  dropped: true;
  replay: Streamed[];
}

export type Passed = { text: string } | Dropped;

// A resumed run runs its interrupted model turn again from the start. What the new attempt repeats
// of the partial text clients already have is not streamed a second time: only what goes beyond it
// passes, so the answer reads once, continued where it stopped. An attempt that departs from it (a
// model that answers differently this time, or stops short of it) drops it: clients are told to
// drop the partial text (agent_resumed, partial "dropped") and get the new attempt's text from its
// start.
export class RepeatFilter {
  private readonly left: Record<StreamedKind, string>;
  // This attempt's text so far, in order, for a replay.
  private readonly sofar: Streamed[] = [];
  private dropped = false;

  constructor(readonly partial: PartialTurn) {
    this.left = { ...partial.text };
  }

  pass(kind: StreamedKind, text: string): Passed {
    const last = this.sofar[this.sofar.length - 1];
    if (last?.kind === kind) last.text += text;
    else this.sofar.push({ kind, text });
    if (this.dropped) return { text };
    const left = this.left[kind];
    const same = commonPrefix(left, text);
    if (same === text.length) {
      this.left[kind] = left.slice(same);
      return { text: '' };
    }
    if (same === left.length) {
      this.left[kind] = '';
      return { text: text.slice(same) };
    }
    return this.drop();
  }

  // At the end of the turn: whether clients still hold text this attempt did not repeat.
  finish(): Dropped | null {
    if (this.dropped || (!this.left.agent_thinking && !this.left.agent_response_chunk)) {
      return null;
    }
    return this.drop();
  }

  private drop(): Dropped {
    this.dropped = true;
    return { dropped: true, replay: this.sofar.map((s) => ({ ...s })) };
  }
}

function commonPrefix(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i += 1;
  return i;
}
