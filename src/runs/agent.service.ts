import { Injectable } from '@nestjs/common';
import { PER_USER } from '../context/per-user';
import { ConfigService } from '@nestjs/config';
import { EnvironmentVariables } from '../config/env.validation';
import { Observable } from 'rxjs';
import { QueryFailedError } from 'typeorm';
import { DomainError } from '../common/domain.error';
import { Page, pageWindow, PaginationQueryDto } from '../common/pagination.dto';
import { UserContext } from '../context/user-context';
import { Tx } from '../database/transaction';
import { ThreadStore } from '../threads/thread.store';
import { DEFAULT_MULTITASK_STRATEGY, MultitaskStrategy } from './multitask-strategy';
import { RunEvent } from './run-event';
import { RunEventStream } from './run-event.stream';
import { isTerminal } from './run-status';
import { Run } from './run.entity';
import { RunStore } from './run.store';
import { CancelResultView, RunStatusView } from './run.views';
import { StatePersistenceService } from './state-persistence.service';

export interface NewRun {
  query: string;
  threadId?: string;
  clientRunId?: string;
  agent?: string;
  model?: string;
  strategy?: MultitaskStrategy;
  // threadId is the thread's id or the client's own id for it, and a thread is made under it when
  // the user has none (protocols whose clients choose thread ids: AG-UI, the Agent Protocol).
  openThread?: boolean;
  // POSTed the run's final status when it ends.
  webhook?: string;
}

export interface CreatedRun {
  run: Run;
  // false: the client run id was used before, and this is that run.
  created: boolean;
  // true: it waits for the thread's earlier runs (enqueue).
  waiting: boolean;
}

const CLIENT_RUN_ID = 'runs_user_client_run_id_uq';

// Runs as the current user sees them: create, read, follow, cancel. A run is named by the id the
// server gave it or by the caller's own client id.
@Injectable(PER_USER)
export class AgentService {
  constructor(
    private readonly ctx: UserContext,
    private readonly runs: RunStore,
    private readonly threads: ThreadStore,
    private readonly persistence: StatePersistenceService,
    private readonly stream: RunEventStream,
    config: ConfigService<EnvironmentVariables, true>,
  ) {
    this.maxActive = config.get('MAX_ACTIVE_RUNS', { infer: true });
  }

  private readonly maxActive: number;

  // Creates a queued run and stores the query as the thread's user message, in `tx`. What happens
  // to the thread's runs in progress is the strategy's call. A client run id seen before returns
  // that run instead of a second one.
  async createRun(tx: Tx, input: NewRun): Promise<CreatedRun> {
    const userId = this.ctx.userId;
    const earlier = await this.findByClientId(input, tx);
    if (earlier) return { run: earlier, created: false, waiting: false };
    try {
      return await this.insertRun(tx, userId, input);
    } catch (err) {
      // The same client id raced in from another request, which won: return its run. (The caller's
      // transaction is aborted by the violation; it is retried without it.)
      if (uniqueViolation(err) === CLIENT_RUN_ID) throw new ClientIdTaken();
      throw err;
    }
  }

  // After a ClientIdTaken: the winner's run.
  async createdByOther(input: NewRun): Promise<CreatedRun> {
    const winner = await this.findByClientId(input);
    if (!winner) throw new Error(`run ${input.clientRunId} vanished`);
    return { run: winner, created: false, waiting: false };
  }

  private async insertRun(tx: Tx, userId: string, input: NewRun): Promise<CreatedRun> {
    // A user's starts take turns (on every instance) to count their unfinished runs.
    await tx.rows('SELECT pg_advisory_xact_lock(hashtext($1))', [`runs:${userId}`]);
    const title = titleFrom(input.query);
    const thread = !input.threadId
      ? await this.threads.create(userId, { title }, tx.manager)
      : input.openThread
        ? await this.threads.openByRef(userId, input.threadId, { title }, tx.manager)
        : await this.threads.require(userId, input.threadId, tx.manager, true);
    // The same client id may have been used while this waited for the thread's lock.
    const raced = input.threadId ? await this.findByClientId(input, tx) : null;
    if (raced) return { run: raced, created: false, waiting: false };
    const strategy = input.strategy ?? DEFAULT_MULTITASK_STRATEGY;
    const active = input.threadId ? await this.runs.activeOnThread(tx, userId, thread.id) : [];
    if (active.length > 0 && strategy === 'reject') {
      throw new DomainError(
        'thread_busy',
        `thread ${thread.id} already has a run in progress; wait for it, cancel it, or send ` +
          `multitask_strategy enqueue or interrupt`,
      );
    }
    if (strategy === 'interrupt' && active.length > 0) {
      await this.persistence.cancelThreadRuns(tx, userId, thread.id, 'interrupted by a newer run');
    }
    const unfinished = await this.runs.countActive(tx, userId);
    if (unfinished >= this.maxActive) {
      throw new DomainError(
        'rate_limited',
        `You have ${unfinished} runs in progress or queued, the most at once; wait for one to end`,
        { retry_after_ms: 5_000 },
      );
    }
    const run = await this.runs.insert(tx, {
      userId,
      threadId: thread.id,
      clientRunId: input.clientRunId ?? null,
      query: input.query,
      agent: input.agent ?? 'supervisor',
      model: input.model ?? null,
      webhookUrl: input.webhook ?? null,
    });
    await this.threads.addMessage(
      userId,
      { threadId: run.threadId, role: 'user', content: run.query, runId: run.id },
      tx.manager,
    );
    const head = await this.persistence.dispatchNext(tx, userId, thread.id);
    return { run, created: true, waiting: head?.id !== run.id };
  }

  async getRun(ref: string): Promise<Run> {
    const run = await this.runs.findByRef(this.ctx.userId, ref);
    if (!run) throw DomainError.notFound('run', ref);
    return run;
  }

  async status(ref: string): Promise<RunStatusView> {
    return RunStatusView.of(await this.getRun(ref));
  }

  async events(ref: string, after = 0, limit = 1000): Promise<RunEvent[]> {
    const run = await this.getRun(ref);
    return this.persistence.listEvents(this.ctx.userId, run.id, after, limit);
  }

  // Checks ownership now (a 404 must come before any stream starts), then follows the run. Null
  // when the run has ended and nothing is after `after`: there is nothing to follow.
  async follow(ref: string, after = 0): Promise<{ run: Run; events: Observable<RunEvent> | null }> {
    const run = await this.getRun(ref);
    if (isTerminal(run.status) && after >= run.lastSeq) return { run, events: null };
    return { run, events: this.stream.follow(this.ctx.userId, run.id, after, run) };
  }

  async cancel(ref: string): Promise<CancelResultView> {
    const run = await this.getRun(ref);
    const owner = { userId: this.ctx.userId, runId: run.id };
    if (await this.persistence.cancel(owner, run, 'cancelled by user')) {
      return { run_id: run.id, status: 'cancelled', cancelled: true, message: 'Run cancelled' };
    }
    const now = await this.getRun(run.id);
    return {
      run_id: now.id,
      status: now.status,
      cancelled: false,
      message: `Run already ${now.status}; nothing changed`,
    };
  }

  async threadRuns(threadId: string, query: PaginationQueryDto): Promise<Page<RunStatusView>> {
    const userId = this.ctx.userId;
    await this.threads.require(userId, threadId);
    const { limit, offset } = pageWindow(query);
    const [runs, total] = await this.runs.listByThread(userId, threadId, limit, offset);
    return { items: runs.map((r) => RunStatusView.of(r)), total, limit, offset };
  }

  private async findByClientId(input: NewRun, tx?: Tx): Promise<Run | null> {
    if (!input.clientRunId) return null;
    // A run's own id names it as well as its client id does: a protocol client that was handed
    // the id (an Agent Protocol run_id) and sends it as its own (AG-UI's runId) follows that run.
    const run = await this.runs.findByRef(this.ctx.userId, input.clientRunId, tx);
    // (A client's thread id is not the thread's own: only the query is compared then.)
    const otherThread = input.threadId && !input.openThread && input.threadId !== run?.threadId;
    if (run && (run.query !== input.query || otherThread)) {
      throw new DomainError(
        'idempotency_conflict',
        `id ${input.clientRunId} was already used for a different request`,
      );
    }
    return run;
  }
}

// Another request created the run with this client id first.
export class ClientIdTaken extends Error {}

function titleFrom(query: string): string {
  const line = query.trim().split('\n')[0];
  return line.length > 80 ? `${line.slice(0, 77)}...` : line;
}

function uniqueViolation(err: unknown): string | undefined {
  if (!(err instanceof QueryFailedError)) return undefined;
  const driverError = err.driverError as { code?: string; constraint?: string };
  return driverError.code === '23505' ? driverError.constraint : undefined;
}
