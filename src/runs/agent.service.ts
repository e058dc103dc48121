import { Injectable, Scope } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Observable } from 'rxjs';
import { DataSource, EntityManager, In, QueryFailedError } from 'typeorm';
import { DomainError } from '../common/domain.error';
import { Page, pageWindow, PaginationQueryDto } from '../common/pagination.dto';
import { UserContext } from '../context/user-context';
import { ThreadStore } from '../threads/thread.store';
import { RunEvent } from './run-event';
import { RunEventStream } from './run-event.stream';
import { ACTIVE_STATUSES, isTerminal } from './run-status';
import { Run } from './run.entity';
import { CancelResultView, RunStatusView } from './run.views';
import { StatePersistenceService } from './state-persistence.service';

export interface NewRun {
  query: string;
  threadId?: string;
  clientRunId?: string;
  agent?: string;
  model?: string;
}

const ONE_ACTIVE_RUN_PER_THREAD = 'runs_one_active_per_thread_uq';
const CLIENT_RUN_ID = 'runs_user_client_run_id_uq';

// Runs as the current user sees them: create, read, follow, cancel.
@Injectable({ scope: Scope.REQUEST })
export class AgentService {
  constructor(
    private readonly ctx: UserContext,
    @InjectDataSource() private readonly db: DataSource,
    private readonly threads: ThreadStore,
    private readonly persistence: StatePersistenceService,
    private readonly stream: RunEventStream,
  ) {}

  // Creates a queued run and stores the query as the thread's user message. A client run id seen
  // before returns that run (`created: false`) instead of a second one.
  async createRun(input: NewRun): Promise<{ run: Run; created: boolean }> {
    const userId = this.ctx.userId;
    const earlier = await this.findByClientId(input);
    if (earlier) return { run: earlier, created: false };
    try {
      const run = await this.db.transaction(async (manager) => {
        const thread = input.threadId
          ? await this.threads.require(userId, input.threadId, manager, true)
          : await this.threads.create(userId, { title: titleFrom(input.query) }, manager);
        const run = await manager.getRepository(Run).save(
          manager.getRepository(Run).create({
            userId,
            threadId: thread.id,
            clientRunId: input.clientRunId ?? null,
            query: input.query,
            agent: input.agent ?? 'supervisor',
            model: input.model ?? null,
            status: 'queued',
          }),
        );
        await this.addUserMessage(manager, run);
        return run;
      });
      return { run, created: true };
    } catch (err) {
      const constraint = uniqueViolation(err);
      if (constraint === ONE_ACTIVE_RUN_PER_THREAD) {
        throw new DomainError(
          'thread_busy',
          `thread ${input.threadId} already has a run in progress; wait for it or cancel it`,
        );
      }
      // The same client id raced in from another request: that one won, return its run.
      if (constraint === CLIENT_RUN_ID) {
        const winner = await this.findByClientId(input);
        if (winner) return { run: winner, created: false };
      }
      throw err;
    }
  }

  async getRun(runId: string): Promise<Run> {
    const run = await this.persistence.findRun(this.ctx.userId, runId);
    if (!run) throw DomainError.notFound('run', runId);
    return run;
  }

  async status(runId: string): Promise<RunStatusView> {
    return RunStatusView.of(await this.getRun(runId));
  }

  async events(runId: string, after = 0, limit = 1000): Promise<RunEvent[]> {
    await this.getRun(runId);
    return this.persistence.listEvents(this.ctx.userId, runId, after, limit);
  }

  // Checks ownership now (a 404 must come before any stream starts), then follows the run. Null
  // when the run has ended and nothing is after `after`: there is nothing to follow.
  async follow(runId: string, after = 0): Promise<Observable<RunEvent> | null> {
    const run = await this.getRun(runId);
    if (isTerminal(run.status) && after >= run.lastSeq) return null;
    return this.stream.follow(this.ctx.userId, runId, after);
  }

  async cancel(runId: string): Promise<CancelResultView> {
    const cancelled = await this.persistence.transition(
      this.ctx.userId,
      runId,
      { from: ACTIVE_STATUSES, to: 'cancelled', error: 'cancelled by user' },
      { type: 'agent_cancelled', data: { reason: 'cancelled by user' } },
    );
    if (cancelled)
      return { run_id: runId, status: 'cancelled', cancelled: true, message: 'Run cancelled' };
    const run = await this.getRun(runId);
    return {
      run_id: run.id,
      status: run.status,
      cancelled: false,
      message: `Run already ${run.status}; nothing changed`,
    };
  }

  async cancelActiveOnThread(threadId: string): Promise<void> {
    const active = await this.db.getRepository(Run).find({
      where: { userId: this.ctx.userId, threadId, status: In([...ACTIVE_STATUSES]) },
    });
    for (const run of active) await this.cancel(run.id);
  }

  async threadRuns(threadId: string, query: PaginationQueryDto): Promise<Page<RunStatusView>> {
    const userId = this.ctx.userId;
    await this.threads.require(userId, threadId);
    const { limit, offset } = pageWindow(query);
    const [runs, total] = await this.db.getRepository(Run).findAndCount({
      where: { userId, threadId },
      order: { createdAt: 'DESC', id: 'DESC' },
      take: limit,
      skip: offset,
    });
    return { items: runs.map((r) => RunStatusView.of(r)), total, limit, offset };
  }

  private async findByClientId(input: NewRun): Promise<Run | null> {
    if (!input.clientRunId) return null;
    const run = await this.db
      .getRepository(Run)
      .findOneBy({ userId: this.ctx.userId, clientRunId: input.clientRunId });
    if (run && (run.query !== input.query || (input.threadId && input.threadId !== run.threadId))) {
      throw new DomainError(
        'idempotency_conflict',
        `id ${input.clientRunId} was already used for a different request`,
      );
    }
    return run;
  }

  private async addUserMessage(manager: EntityManager, run: Run): Promise<void> {
    await this.threads.addMessage(
      run.userId,
      { threadId: run.threadId, role: 'user', content: run.query, runId: run.id },
      manager,
    );
  }
}

function titleFrom(query: string): string {
  const line = query.trim().split('\n')[0];
  return line.length > 80 ? `${line.slice(0, 77)}...` : line;
}

function uniqueViolation(err: unknown): string | undefined {
  if (!(err instanceof QueryFailedError)) return undefined;
  const driverError = err.driverError as { code?: string; constraint?: string };
  return driverError.code === '23505' ? driverError.constraint : undefined;
}
