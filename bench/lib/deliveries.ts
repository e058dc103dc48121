import { FrameSink } from './subscriber';

// What every subscriber of one measured pass received: commit-to-frame latency per delivered
// frame, and problems (a seq out of order, twice or never, a frame that is not an event).
export class Deliveries {
  readonly latencies: number[] = [];
  frames = 0;
  problems = 0;
  private readonly committedAt = new Map<number, number>();
  private goal = Infinity;
  private reached?: () => void;

  committed(seq: number, at: number): void {
    this.committedAt.set(seq, at);
  }

  // A sink for one subscriber that followed the run from `after`: it must see after + 1, + 2, ...
  sink(after: number): FrameSink {
    let last = after;
    return {
      frame: (seq, at) => {
        const committed = this.committedAt.get(seq);
        if (seq !== last + 1 || committed === undefined) this.problems += 1;
        last = Math.max(last, seq);
        if (committed !== undefined) this.latencies.push(at - committed);
        if ((this.frames += 1) >= this.goal) this.reached?.();
      },
      problem: () => {
        this.problems += 1;
      },
    };
  }

  // Resolves once `frames` have been delivered, or after `timeoutMs` (what is missing then is
  // counted by the caller).
  delivered(frames: number, timeoutMs: number): Promise<void> {
    if (this.frames >= frames) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.goal = frames;
      this.reached = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
