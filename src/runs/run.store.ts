import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { isUuid } from '../common/ids';
import { plainQuery } from '../database/plain-query';
import { Tx } from '../database/transaction';
import { fenced, fenceParams, RunClaim } from './run-fence';
import { ACTIVE_STATUSES, RUNNABLE_STATUSES } from './run-status';
import { Run } from './run.entity';

export interface NewRunRow {
  userId: string;
  threadId: string;
  clientRunId: string | null;
  query: string;
  agent: string;
  model: string | null;
  webhookUrl: string | null;
}

// The runs table. Singleton: every method takes the owner, and every query filters by it.
@Injectable()
export class RunStore {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  // A run by the id the server gave it or by the caller's own client id (`run_123`); inside `tx`
  // when given, so a transaction needs no second connection.
  // The hottest read of the app (status, follow, every stream's end check): plain SQL mapped by
  // hand, since TypeORM's query building and entity mapping cost more than the query itself.
  async findByRef(userId: string, ref: string, tx?: Tx): Promise<Run | null> {
    const read = (text: string, params: unknown[]) =>
      tx ? tx.rows<RunRow>(text, params) : plainQuery<RunRow>(this.db, text, params);
    if (isUuid(ref)) {
      const [byId] = await read(`${SELECT_RUN} WHERE id = $1 AND user_id = $2`, [ref, userId]);
      if (byId) return toRun(byId);
    }
    const [byClientId] = await read(`${SELECT_RUN} WHERE user_id = $1 AND client_run_id = $2`, [
      userId,
      ref,
    ]);
    return byClientId ? toRun(byClientId) : null;
  }

  listByThread(
    userId: string,
    threadId: string,
    limit: number,
    offset: number,
  ): Promise<[Run[], number]> {
    return this.db.getRepository(Run).findAndCount({
      where: { userId, threadId },
      order: { createdAt: 'DESC', id: 'DESC' },
      take: limit,
      skip: offset,
    });
  }

  // The run path's statements below are plain SQL mapped by hand, like findByRef: TypeORM's query
  // building and persistence machinery cost more CPU than the statements themselves, and every run
  // start, claim and end goes through them.

  // The thread's unfinished runs in the order they execute: the first is the one executing (or
  // waiting for an approval, or next to start), the others wait their turn.
  async activeOnThread(tx: Tx, userId: string, threadId: string): Promise<Run[]> {
    const rows = await tx.rows<RunRow>(
      `${SELECT_RUN} WHERE user_id = $1 AND thread_id = $2 AND status = ANY($3::varchar[])
       ORDER BY created_at, id`,
      [userId, threadId, ACTIVE_STATUSES],
    );
    return rows.map(toRun);
  }

  async countActive(tx: Tx, userId: string): Promise<number> {
    const [{ n }] = await tx.rows<{ n: number }>(
      'SELECT count(*)::int AS n FROM runs WHERE user_id = $1 AND status = ANY($2::varchar[])',
      [userId, ACTIVE_STATUSES],
    );
    return n;
  }

  async insert(tx: Tx, row: NewRunRow): Promise<Run> {
    const [inserted] = await tx.rows<RunRow>(
      `INSERT INTO runs (user_id, thread_id, client_run_id, query, agent, model, webhook_url, status)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued') RETURNING ${RUN_COLUMNS}`,
      [row.userId, row.threadId, row.clientRunId, row.query, row.agent, row.model, row.webhookUrl],
    );
    return toRun(inserted);
  }

  async setJob(tx: Tx, runId: string, jobId: string): Promise<void> {
    await tx.rows('UPDATE runs SET job_id = $2, updated_at = now() WHERE id = $1', [runId, jobId]);
  }

  // The run, locked until the caller's transaction ends, if an executor has work on it (it is
  // queued or running; not finished, not waiting for a person).
  async lockRunnable(tx: Tx, userId: string, runId: string): Promise<Run | null> {
    const [row] = await tx.rows<RunRow>(
      `${SELECT_RUN} WHERE id = $1 AND user_id = $2 AND status = ANY($3::varchar[])
       FOR NO KEY UPDATE`,
      [runId, userId, RUNNABLE_STATUSES],
    );
    return row ? toRun(row) : null;
  }

  // An executor takes the (locked) run: its attempt number goes up by one, and from then on writes
  // carrying an older number are refused.
  async claim(tx: Tx, run: Run): Promise<Run> {
    const [{ attempt }] = await tx.rows<{ attempt: number }>(
      'UPDATE runs SET attempt = attempt + 1, updated_at = now() WHERE id = $1 RETURNING attempt',
      [run.id],
    );
    run.attempt = attempt;
    return run;
  }

  // Adds one model call's tokens to the run's per-model totals, atomically; fenced like every
  // write of the executor.
  async addUsage(
    tx: Tx,
    claim: RunClaim,
    model: string,
    tokens: { input: number; output: number },
  ): Promise<boolean> {
    const rows = await tx.rows(
      `UPDATE runs SET usage = jsonb_set(usage, ARRAY[$4::text], jsonb_build_object(
         'input_tokens', COALESCE((usage -> $4::text ->> 'input_tokens')::int, 0) + $5::int,
         'output_tokens', COALESCE((usage -> $4::text ->> 'output_tokens')::int, 0) + $6::int))
       WHERE ${fenced('runs', 1, 2, 3)} RETURNING id`,
      [...fenceParams(claim), model, tokens.input, tokens.output],
    );
    return rows.length > 0;
  }
}

// Every column of Run, as the entity names them.
const RUN_COLUMNS = `id, user_id, thread_id, client_run_id, query, agent, model, usage, status,
  result, error, last_seq, attempt, job_id, webhook_url, created_at, updated_at, started_at, finished_at`;
const SELECT_RUN = `SELECT ${RUN_COLUMNS} FROM runs`;

interface RunRow {
  id: string;
  user_id: string;
  thread_id: string;
  client_run_id: string | null;
  query: string;
  agent: string;
  model: string | null;
  usage: Run['usage'];
  status: Run['status'];
  result: string | null;
  error: string | null;
  last_seq: number;
  attempt: number;
  job_id: string | null;
  webhook_url: string | null;
  created_at: Date;
  updated_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

function toRun(row: RunRow): Run {
  return Object.assign(new Run(), {
    id: row.id,
    userId: row.user_id,
    threadId: row.thread_id,
    clientRunId: row.client_run_id,
    query: row.query,
    agent: row.agent,
    model: row.model,
    usage: row.usage,
    status: row.status,
    result: row.result,
    error: row.error,
    lastSeq: row.last_seq,
    attempt: row.attempt,
    jobId: row.job_id,
    webhookUrl: row.webhook_url,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  });
}
