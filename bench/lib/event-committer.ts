import { Client } from 'pg';
import { performance } from 'node:perf_hooks';
import { setTimeout as until } from 'node:timers/promises';

// The product's channel and notification payload (src/runs/pg-run-event.bus.ts).
const CHANNEL = 'netra_run_events';
// An answer chunk as the product's coalescer writes them: up to 200 characters of text per event.
const CHUNK = {
  text: 'The run streams its answer in pieces like this one, each of them an event of the run that every follower gets once, in seq order. '
    .repeat(2)
    .slice(0, 200),
  step: 1,
};

// Commits events of one run the way the product's RunEventLog.write does (next seq from the runs
// row, bumped in the same statement that inserts the event) and announces each as its
// PostgresRunEventBus.publish does (pg_notify in the same transaction, so listeners hear of it only
// after the commit, with the event in the payload). Both servers then do the same work: hear the
// notification, take the event from it, send.
interface EventRow {
  run_id: string;
  thread_id: string;
  seq: number;
  type: string;
  agent_name: string;
  data: unknown;
  created_at: Date;
}

export class EventCommitter {
  private constructor(
    private readonly db: Client,
    private readonly runId: string,
  ) {}

  static async connect(databaseUrl: string, runId: string): Promise<EventCommitter> {
    const db = new Client({ connectionString: databaseUrl });
    await db.connect();
    return new EventCommitter(db, runId);
  }

  async lastSeq(): Promise<number> {
    const { rows } = await this.db.query<{ last_seq: number }>(
      'SELECT last_seq FROM runs WHERE id = $1',
      [this.runId],
    );
    return rows[0].last_seq;
  }

  // `perSecond` events a second for `seconds`, one transaction each, on a fixed schedule (a slow
  // commit delays the next one, not the ones after). `committed(seq, at)` gets the time COMMIT
  // was sent, before anyone can hear of the event: commit-to-frame latency includes the commit.
  // Resolves with the last seq committed.
  async commit(
    perSecond: number,
    seconds: number,
    committed: (seq: number, at: number) => void,
  ): Promise<number> {
    const total = Math.max(1, Math.round(perSecond * seconds));
    const started = performance.now();
    let seq = 0;
    for (let i = 0; i < total; i++) {
      const wait = started + (i * 1000) / perSecond - performance.now();
      if (wait > 1) await until(wait); // the schedule itself, not a stand-in for a condition
      await this.db.query('BEGIN');
      const { rows } = await this.db.query<EventRow>(
        `WITH r AS (
           UPDATE runs SET last_seq = last_seq + 1, updated_at = now()
           WHERE id = $1 RETURNING id, user_id, thread_id, last_seq, agent
         )
         INSERT INTO run_events (run_id, seq, user_id, thread_id, type, agent_name, data)
         SELECT r.id, r.last_seq, r.user_id, r.thread_id, 'agent_response_chunk', r.agent, $2::jsonb
         FROM r RETURNING run_id, thread_id, seq, type, agent_name, data, created_at`,
        [this.runId, JSON.stringify(CHUNK)],
      );
      seq = rows[0].seq;
      // With the event, as the product's bus sends an event that fits.
      const event = {
        ...rows[0],
        created_at: undefined,
        timestamp: rows[0].created_at.toISOString(),
      };
      await this.db.query('SELECT pg_notify($1, $2)', [
        CHANNEL,
        `${this.runId}:${seq}:${JSON.stringify([event])}`,
      ]);
      committed(seq, performance.now());
      await this.db.query('COMMIT');
    }
    return seq;
  }

  close(): Promise<void> {
    return this.db.end();
  }
}
