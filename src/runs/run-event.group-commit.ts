import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { performance } from 'node:perf_hooks';
import { DataSource } from 'typeorm';
import { EnvironmentVariables } from '../config/env.validation';
import { isDatabaseUnavailable } from '../database/db-errors';
import { Tx } from '../database/transaction';
import { groupCommitSize } from '../metrics/metrics';
import { RunEvent } from './run-event';
import { BatchEntry, RunEventLog } from './run-event.log';

interface Waiting {
  entry: BatchEntry;
  resolve: (written: RunEvent[]) => void;
  reject: (err: unknown) => void;
}

// Entries in one commit at most: a larger backlog goes in the commits right after it.
const MAX_ENTRIES = 500;
// PostgreSQL aborts one of two transactions that wait for each other's run rows; the batch is
// tried again (each entry's rows are fenced, so a retry can only write what is still allowed).
const DEADLOCK = '40P01';
const TRIES = 3;

// Group commit for the events of the runs this instance executes. Each append waits for the next
// commit, which writes every entry that arrived meanwhile in one transaction and one statement
// (RunEventLog.writeBatch: fenced per run, one notification for the whole commit). An idle writer
// commits at once, so the first event of a quiet instance waits for nothing; a busy one starts a
// commit at most every RUN_EVENT_COMMIT_INTERVAL_MS, so its commits (and PostgreSQL's notifying
// commits, which the whole cluster serialises on one lock) do not grow with the runs it streams.
// A commit that fails fails every append in it: nothing is acknowledged that was not committed.
@Injectable()
export class RunEventGroupCommit {
  private waiting: Waiting[] = [];
  private committing = false;
  private timer?: NodeJS.Timeout;
  private lastStart = -Infinity;
  private readonly floorMs: number;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly log: RunEventLog,
    config: ConfigService<EnvironmentVariables, true>,
  ) {
    this.floorMs = config.get('RUN_EVENT_COMMIT_INTERVAL_MS', { infer: true });
  }

  // Resolves with the events written once they are committed; [] when the run's fence refused
  // them (the run left `running`, or a newer claim exists).
  append(entry: BatchEntry): Promise<RunEvent[]> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ entry, resolve, reject });
      this.schedule();
    });
  }

  // Whether an append now would wait: a commit is in flight or one is due. A run's own next
  // transaction carries its last streamed text only when the writer is idle (FencedRunJournal):
  // when it is busy, the text goes in the commit it batches with every other run's, which is
  // shorter than the run's own transaction and, when many runs end at once, not queued behind
  // theirs.
  busy(): boolean {
    return this.committing || this.timer !== undefined || this.waiting.length > 0;
  }

  private schedule(): void {
    if (this.committing || this.timer || this.waiting.length === 0) return;
    const wait = this.lastStart + this.floorMs - performance.now();
    if (wait <= 0) {
      void this.commit();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.commit();
    }, wait);
  }

  private async commit(): Promise<void> {
    const groups = this.take();
    this.committing = true;
    this.lastStart = performance.now();
    try {
      const outcomes = await this.write(groups.map((g) => g.entry));
      groups.forEach((group, i) => settle(group, outcomes[i]));
    } finally {
      this.committing = false;
      this.schedule();
    }
  }

  // The oldest waiting entries as one entry per run (what a run has waiting, in order, its
  // tokens added up), ordered by run id so that two instances' commits lock runs in one order.
  // A stale claim and its successor never share a commit: the later one waits for the next.
  private take(): Group[] {
    const byRun = new Map<string, Group>();
    // Runs with an entry left for later: their later entries wait too, in order.
    const later = new Set<string>();
    const rest: Waiting[] = [];
    for (const w of this.waiting) {
      const { claim } = w.entry;
      const group = byRun.get(claim.runId);
      if (!later.has(claim.runId) && group?.entry.claim.attempt === claim.attempt) {
        group.waiting.push(w);
        group.entry = merged(group.entry, w.entry);
      } else if (!later.has(claim.runId) && !group && byRun.size < MAX_ENTRIES) {
        byRun.set(claim.runId, { entry: w.entry, waiting: [w] });
      } else {
        later.add(claim.runId);
        rest.push(w);
      }
    }
    this.waiting = rest;
    groupCommitSize.observe(byRun.size);
    return [...byRun.values()].sort((a, b) => (a.entry.claim.runId < b.entry.claim.runId ? -1 : 1));
  }

  // What each entry wrote, or why it was not written. A batch that fails for a reason of its own
  // (not the database being away, where every entry fails alike) is written again an entry at a
  // time, so one bad entry (a value PostgreSQL refuses) fails its own run only.
  private async write(entries: BatchEntry[]): Promise<(RunEvent[] | Failed)[]> {
    try {
      return await this.attempt(entries);
    } catch (err) {
      if (entries.length === 1 || isDatabaseUnavailable(err)) return entries.map(() => ({ err }));
      const outcomes: (RunEvent[] | Failed)[] = [];
      for (const entry of entries) {
        outcomes.push(
          await this.attempt([entry]).then(
            ([written]) => written,
            (e: unknown) => ({ err: e }),
          ),
        );
      }
      return outcomes;
    }
  }

  private async attempt(entries: BatchEntry[]): Promise<RunEvent[][]> {
    for (let tries = 1; ; tries += 1) {
      try {
        return await Tx.run(this.db, (tx) => this.log.writeBatch(tx, entries));
      } catch (err) {
        const code = (err as { driverError?: { code?: string } }).driverError?.code;
        if (code !== DEADLOCK || tries >= TRIES) throw err;
      }
    }
  }
}

interface Failed {
  err: unknown;
}

// A run's waiting appends, written as one entry.
interface Group {
  entry: BatchEntry;
  waiting: Waiting[];
}

function merged(a: BatchEntry, b: BatchEntry): BatchEntry {
  const usage = { ...(a.usage ?? {}) };
  for (const [model, tokens] of Object.entries(b.usage ?? {})) {
    const sum = usage[model] ?? { input: 0, output: 0 };
    usage[model] = { input: sum.input + tokens.input, output: sum.output + tokens.output };
  }
  const hasUsage = a.usage !== undefined || b.usage !== undefined;
  return { claim: a.claim, events: [...a.events, ...b.events], ...(hasUsage ? { usage } : {}) };
}

// Hands each append of a group its own events (the group's were written in append order).
function settle(group: Group, outcome: RunEvent[] | Failed): void {
  if (!Array.isArray(outcome)) {
    for (const w of group.waiting) w.reject(outcome.err);
    return;
  }
  let at = 0;
  for (const w of group.waiting) {
    const count = w.entry.events.length;
    w.resolve(outcome.length === 0 ? [] : outcome.slice(at, at + count));
    at += count;
  }
}
