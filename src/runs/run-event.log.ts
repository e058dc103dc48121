import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { plainQuery } from '../database/plain-query';
import { Tx } from '../database/transaction';
import {
  RunEvent,
  RunEventRecord,
  RunEventType,
  TERMINAL_EVENT_TYPES,
  toRunEvent,
} from './run-event';
import { RunEventBus } from './run-event.bus';
import { RunQueue } from './run.queue';
import { fenced, fencedBy, fenceParams, RunClaim, RunWriterRef } from './run-fence';
import { RunStatus, TERMINAL_STATUSES } from './run-status';
import { eventsPersisted, runsFinished } from '../metrics/metrics';

export interface EventInput {
  type: RunEventType;
  data: Record<string, unknown>;
  // The agent writing it; the run's own agent when absent (a cancel, an approval).
  agentName?: string;
}

// One running run's share of a group commit: its events, and the model calls' tokens to add to it.
export interface BatchEntry {
  claim: RunClaim;
  events: EventInput[];
  usage?: Record<string, { input: number; output: number }>;
}

// A status change that goes with the events: allowed only from `from`.
export interface Transition {
  from: readonly RunStatus[];
  to?: RunStatus;
  result?: string;
  error?: string;
}

const COLUMNS = 'run_id, thread_id, seq, type, agent_name, data, created_at';

// The event log of runs: run_events, with runs.last_seq as its counter. An event is committed before
// anyone hears of it: the bus is told inside the transaction that writes it.
@Injectable()
export class RunEventLog {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly bus: RunEventBus,
    private readonly queue: RunQueue,
  ) {}

  // Appends the events (seq last_seq + 1, + 2, ...) and applies the transition, in one statement.
  // A terminal event carries the run's token usage as it stands then (in total and per model):
  // the UPDATE locks the run row, so seqs stay contiguous whoever writes, and nothing is written
  // once the run left the `from` statuses or the writer's claim is stale. [] when refused.
  async write(
    tx: Tx,
    writer: RunWriterRef,
    change: Transition,
    events: EventInput[],
  ): Promise<RunEvent[]> {
    if (events.length === 0) return [];
    const rows = await tx.rows<RunEventRecord>(
      `WITH r AS (
         UPDATE runs SET
           last_seq = last_seq + jsonb_array_length($4::jsonb),
           updated_at = now(),
           status = COALESCE($5::varchar, status),
           result = COALESCE($6::text, result),
           error = COALESCE($7::text, error),
           started_at = CASE WHEN $5::varchar = 'running' THEN COALESCE(started_at, now())
                             ELSE started_at END,
           finished_at = CASE WHEN $5::varchar = ANY($9::varchar[]) THEN now() ELSE finished_at END
         WHERE ${fenced('runs', 1, 2, 3)} AND status = ANY($8::varchar[])
         RETURNING id, user_id, thread_id, last_seq, agent, usage
       )
       INSERT INTO run_events (run_id, seq, user_id, thread_id, type, agent_name, data)
       SELECT r.id, r.last_seq - jsonb_array_length($4::jsonb) + e.ord, r.user_id, r.thread_id,
              e.v ->> 'type', COALESCE(e.v ->> 'agent', r.agent),
              CASE WHEN e.v ->> 'type' = ANY($10::varchar[])
                   THEN (e.v -> 'data') || jsonb_build_object('usage', jsonb_build_object(
                     'input_tokens', u.input_tokens, 'output_tokens', u.output_tokens,
                     'models', r.usage))
                   ELSE e.v -> 'data' END
       FROM r
       CROSS JOIN LATERAL (
         SELECT COALESCE(sum((m.value ->> 'input_tokens')::bigint), 0) AS input_tokens,
                COALESCE(sum((m.value ->> 'output_tokens')::bigint), 0) AS output_tokens
         FROM jsonb_each(r.usage) AS m
       ) AS u
       CROSS JOIN jsonb_array_elements($4::jsonb) WITH ORDINALITY AS e(v, ord)
       RETURNING ${COLUMNS}`,
      [
        ...fenceParams(writer),
        JSON.stringify(
          events.map((e) => ({ type: e.type, agent: e.agentName ?? null, data: e.data })),
        ),
        change.to ?? null,
        change.result ?? null,
        change.error ?? null,
        change.from,
        TERMINAL_STATUSES,
        TERMINAL_EVENT_TYPES,
      ],
    );
    if (rows.length === 0) return [];
    const written = rows.map(toRunEvent).sort((a, b) => a.seq - b.seq);
    for (const event of written) eventsPersisted.inc({ type: event.type });
    const last = written[written.length - 1];
    if (change.to && TERMINAL_STATUSES.includes(change.to)) {
      runsFinished.inc({ status: change.to });
      await this.sendWebhook(tx, writer.userId, last); // the terminal event comes last
    }
    await this.bus.publish(tx, [{ run_id: last.run_id, seq: last.seq, events: written }]);
    return written;
  }

  // The events of many running runs in one statement (a group commit): each run's rows are fenced
  // as write() fences them, so a stale claim's entry is refused and the others are written; each
  // run's seqs are contiguous; the tokens of an entry are added to its run in the same UPDATE.
  // One notification for all of them. What each entry wrote, in entry order ([] when refused).
  // At most one entry per run; no terminal events (a run ends through write(), with its rows).
  async writeBatch(tx: Tx, entries: BatchEntry[]): Promise<RunEvent[][]> {
    const rows = await tx.rows<RunEventRecord>(
      `WITH i AS (
         SELECT (x.v ->> 'run')::uuid AS run_id, x.v ->> 'user' AS user_id,
                (x.v ->> 'attempt')::int AS attempt, x.v -> 'events' AS events, x.v -> 'usage' AS usage
         FROM jsonb_array_elements($1::jsonb) AS x(v)
       ),
       r AS (
         UPDATE runs SET
           last_seq = runs.last_seq + jsonb_array_length(i.events),
           updated_at = now(),
           usage = CASE WHEN i.usage IS NULL THEN runs.usage ELSE (
             SELECT jsonb_object_agg(m.model, jsonb_build_object(
               'input_tokens', COALESCE((runs.usage -> m.model ->> 'input_tokens')::bigint, 0)
                 + COALESCE((i.usage -> m.model ->> 'input')::bigint, 0),
               'output_tokens', COALESCE((runs.usage -> m.model ->> 'output_tokens')::bigint, 0)
                 + COALESCE((i.usage -> m.model ->> 'output')::bigint, 0)))
             FROM (SELECT jsonb_object_keys(runs.usage) UNION SELECT jsonb_object_keys(i.usage))
               AS m(model)) END
         FROM i
         WHERE ${fencedBy('runs', 'i.run_id', 'i.user_id', 'i.attempt')} AND runs.status = 'running'
         RETURNING runs.id, runs.user_id, runs.thread_id, runs.last_seq, runs.agent, i.events
       )
       INSERT INTO run_events (run_id, seq, user_id, thread_id, type, agent_name, data)
       SELECT r.id, r.last_seq - jsonb_array_length(r.events) + e.ord, r.user_id, r.thread_id,
              e.v ->> 'type', COALESCE(e.v ->> 'agent', r.agent), e.v -> 'data'
       FROM r CROSS JOIN jsonb_array_elements(r.events) WITH ORDINALITY AS e(v, ord)
       RETURNING ${COLUMNS}`,
      [
        JSON.stringify(
          entries.map(({ claim, events, usage }) => ({
            run: claim.runId,
            user: claim.userId,
            attempt: claim.attempt,
            events: events.map((e) => ({ type: e.type, agent: e.agentName ?? null, data: e.data })),
            ...(usage ? { usage } : {}),
          })),
        ),
      ],
    );
    const byRun = new Map<string, RunEvent[]>();
    for (const row of rows) {
      const event = toRunEvent(row);
      eventsPersisted.inc({ type: event.type });
      const list = byRun.get(event.run_id);
      if (list) list.push(event);
      else byRun.set(event.run_id, [event]);
    }
    const written = entries.map(({ claim }) =>
      (byRun.get(claim.runId) ?? []).sort((a, b) => a.seq - b.seq),
    );
    const refs = written
      .filter((events) => events.length > 0)
      .map((events) => {
        const last = events[events.length - 1];
        return { run_id: last.run_id, seq: last.seq, events };
      });
    if (refs.length > 0) await this.bus.publish(tx, refs);
    return written;
  }

  // A run that ends with a webhook gets its delivery job in the transaction that ends it: the
  // job exists if and only if the run ended.
  private async sendWebhook(tx: Tx, userId: string, event: RunEvent): Promise<void> {
    const [run] = await tx.rows<{ webhook_url: string | null }>(
      'SELECT webhook_url FROM runs WHERE id = $1 AND user_id = $2',
      [event.run_id, userId],
    );
    if (!run?.webhook_url) return;
    await this.queue.sendWebhook(tx, {
      run_id: event.run_id,
      user_id: userId,
      url: run.webhook_url,
    });
  }

  // The run's latest event of a type not in `except`, if any.
  last(userId: string, runId: string, except: readonly string[]): Promise<RunEvent | null> {
    return plainQuery<RunEventRecord>(
      this.db,
      `SELECT ${COLUMNS} FROM run_events
         WHERE run_id = $1 AND user_id = $2 AND type <> ALL($3::varchar[])
         ORDER BY seq DESC LIMIT 1`,
      [runId, userId, except],
    ).then(([row]) => (row ? toRunEvent(row) : null));
  }

  list(userId: string, runId: string, after: number, limit: number): Promise<RunEvent[]> {
    return plainQuery<RunEventRecord>(
      this.db,
      `SELECT ${COLUMNS} FROM run_events
       WHERE run_id = $1 AND user_id = $2 AND seq > $3 ORDER BY seq LIMIT $4`,
      [runId, userId, after, limit],
    ).then((rows) => rows.map(toRunEvent));
  }
}
