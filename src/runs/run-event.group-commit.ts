import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { performance } from 'node:perf_hooks';
import { DataSource } from 'typeorm';
import { EnvironmentVariables } from '../config/env.validation';
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
    const batch = this.take();
    this.committing = true;
    this.lastStart = performance.now();
    try {
      const written = await this.write(batch.map((w) => w.entry));
      batch.forEach((w, i) => w.resolve(written[i]));
    } catch (err) {
      for (const w of batch) w.reject(err);
    } finally {
      this.committing = false;
      this.schedule();
    }
  }

  // The oldest waiting entries, one per run: a run's second entry (it cannot have one while its
  // first waits, but a stale claim and its successor may) waits for the next commit.
  private take(): Waiting[] {
    const runs = new Set<string>();
    const batch: Waiting[] = [];
    const rest: Waiting[] = [];
    for (const w of this.waiting) {
      if (batch.length < MAX_ENTRIES && !runs.has(w.entry.claim.runId)) {
        runs.add(w.entry.claim.runId);
        batch.push(w);
      } else rest.push(w);
    }
    this.waiting = rest;
    groupCommitSize.observe(batch.length);
    return batch;
  }

  private async write(entries: BatchEntry[]): Promise<RunEvent[][]> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await Tx.run(this.db, (tx) => this.log.writeBatch(tx, entries));
      } catch (err) {
        const code = (err as { driverError?: { code?: string } }).driverError?.code;
        if (code !== DEADLOCK || attempt >= TRIES) throw err;
      }
    }
  }
}
