import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In } from 'typeorm';
import { isUuid } from '../common/ids';
import { ThreadStore } from '../threads/thread.store';
import { RunEvent, RunEventRecord, RunEventType, toRunEvent } from './run-event';
import { RunEventBus } from './run-event.bus';
import { RunStateRow } from './run-state.entity';
import { RUNNABLE_STATUSES, RunStatus } from './run-status';
import { Run } from './run.entity';

export interface EventInput {
  type: RunEventType;
  data: Record<string, unknown>;
  // The agent writing it; the run's own agent when absent (a cancel, an approval).
  agentName?: string;
}

export interface AtomicWork {
  manager: EntityManager;
  transition: (
    userId: string,
    runId: string,
    change: Transition,
    event: EventInput,
  ) => Promise<RunEvent | null>;
}

export interface Transition {
  from: readonly RunStatus[];
  to?: RunStatus;
  result?: string;
  error?: string;
}

// The run has already reached a terminal status (for instance it was cancelled), so nothing more
// may be written to it.
export class RunFinishedError extends Error {
  constructor(readonly runId: string) {
    super(`run ${runId} has already finished`);
  }
}

// Run status transitions, the event log and state checkpoints. An event is committed to run_events
// before it is published, so a client can always fetch what it missed by seq.
@Injectable()
export class StatePersistenceService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly bus: RunEventBus,
    private readonly threads: ThreadStore,
  ) {}

  // Appends one event and, optionally, moves the run's status, then publishes the event. Returns null
  // when the run was not in one of the `from` statuses.
  async transition(
    userId: string,
    runId: string,
    change: Transition,
    event: EventInput,
  ): Promise<RunEvent | null> {
    const written = await this.write(this.db.manager, userId, runId, change, event);
    if (written) this.bus.publish(written);
    return written;
  }

  // One statement: the UPDATE locks the run row, so seqs stay contiguous and nothing is written after
  // a terminal status, even with several writers in several processes.
  private async write(
    manager: EntityManager,
    userId: string,
    runId: string,
    change: Transition,
    event: EventInput,
  ): Promise<RunEvent | null> {
    if (!isUuid(runId)) return null;
    const rows: RunEventRecord[] = await manager.query(
      `WITH r AS (
         UPDATE runs SET
           last_seq = last_seq + 1,
           updated_at = now(),
           status = COALESCE($5::varchar, status),
           result = COALESCE($6::text, result),
           error = COALESCE($7::text, error),
           started_at = CASE WHEN $5::varchar = 'running' THEN COALESCE(started_at, now())
                             ELSE started_at END,
           finished_at = CASE WHEN $5::varchar IN ('complete', 'failed', 'cancelled') THEN now()
                              ELSE finished_at END
         WHERE id = $1 AND user_id = $2 AND status = ANY($8::varchar[])
         RETURNING id, user_id, thread_id, last_seq, agent
       )
       INSERT INTO run_events (run_id, seq, user_id, thread_id, type, agent_name, data)
       SELECT id, last_seq, user_id, thread_id, $3, COALESCE($9::varchar, agent), $4::jsonb FROM r
       RETURNING run_id, thread_id, seq, type, agent_name, data, created_at`,
      [
        runId,
        userId,
        event.type,
        JSON.stringify(event.data),
        change.to ?? null,
        change.result ?? null,
        change.error ?? null,
        change.from,
        event.agentName ?? null,
      ],
    );
    return rows.length === 0 ? null : toRunEvent(rows[0]);
  }

  // An event of a running run; throws RunFinishedError once the run has ended (or paused).
  async append(userId: string, runId: string, event: EventInput): Promise<RunEvent> {
    const written = await this.transition(userId, runId, { from: ['running'] }, event);
    if (!written) throw new RunFinishedError(runId);
    return written;
  }

  // Work on other tables and run transitions in one transaction; the events are published after
  // the commit, so a subscriber that reads the database finds them there.
  async atomically<T>(work: (tx: AtomicWork) => Promise<T>): Promise<T> {
    const written: RunEvent[] = [];
    const result = await this.db.transaction((manager) =>
      work({
        manager,
        transition: async (userId, runId, change, event) => {
          const out = await this.write(manager, userId, runId, change, event);
          if (out) written.push(out);
          return out;
        },
      }),
    );
    written.forEach((event) => this.bus.publish(event));
    return result;
  }

  // The final answer: status, event and the assistant's message in the thread, all or nothing.
  complete(userId: string, run: Run, answer: string, agentName?: string): Promise<RunEvent> {
    return this.atomically(async ({ manager, transition }) => {
      const written = await transition(
        userId,
        run.id,
        { from: ['running'], to: 'complete', result: answer },
        { type: 'agent_completed', data: { answer }, agentName },
      );
      if (!written) throw new RunFinishedError(run.id);
      await this.threads.addMessage(
        userId,
        { threadId: run.threadId, role: 'assistant', content: answer, runId: run.id },
        manager,
      );
      return written;
    });
  }

  async listEvents(
    userId: string,
    runId: string,
    after: number,
    limit: number,
  ): Promise<RunEvent[]> {
    const rows: RunEventRecord[] = await this.db.query(
      `SELECT run_id, thread_id, seq, type, agent_name, data, created_at FROM run_events
       WHERE run_id = $1 AND user_id = $2 AND seq > $3 ORDER BY seq LIMIT $4`,
      [runId, userId, after, limit],
    );
    return rows.map(toRunEvent);
  }

  findRun(userId: string, runId: string): Promise<Run | null> {
    if (!isUuid(runId)) return Promise.resolve(null);
    return this.db.getRepository(Run).findOneBy({ id: runId, userId });
  }

  // Runs this process must (re)start: used at boot, across all users, by the executor only.
  findRunnableRuns(): Promise<Run[]> {
    return this.db.getRepository(Run).find({
      where: { status: In([...RUNNABLE_STATUSES]) },
      order: { createdAt: 'ASC' },
    });
  }

  // Adds one model call's tokens to the run's per-model totals, atomically.
  async addUsage(
    userId: string,
    runId: string,
    model: string,
    tokens: { input: number; output: number },
  ): Promise<void> {
    await this.db.query(
      `UPDATE runs SET usage = jsonb_set(usage, ARRAY[$3::text], jsonb_build_object(
         'input_tokens', COALESCE((usage -> $3::text ->> 'input_tokens')::int, 0) + $4::int,
         'output_tokens', COALESCE((usage -> $3::text ->> 'output_tokens')::int, 0) + $5::int))
       WHERE id = $1 AND user_id = $2`,
      [runId, userId, model, tokens.input, tokens.output],
    );
  }

  async saveCheckpoint(
    userId: string,
    runId: string,
    state: object,
    version: number,
    manager: EntityManager = this.db.manager,
  ): Promise<void> {
    await manager.query(
      `INSERT INTO run_state (run_id, user_id, state, version) VALUES ($1, $2, $3::jsonb, $4)
       ON CONFLICT (run_id) DO UPDATE SET state = EXCLUDED.state, version = EXCLUDED.version,
         updated_at = now()
       WHERE run_state.user_id = EXCLUDED.user_id`,
      [runId, userId, JSON.stringify(state), version],
    );
  }

  async loadCheckpoint<T extends object>(userId: string, runId: string): Promise<T | null> {
    const row = await this.db.getRepository(RunStateRow).findOneBy({ runId, userId });
    return row ? (row.state as T) : null;
  }
}
