import { Injectable } from '@nestjs/common';
import { PER_USER } from '../context/per-user';
import { ConfigService } from '@nestjs/config';
import { Observable } from 'rxjs';
import { AgentRegistry } from '../agents/agent.registry';
import { ModelProvider } from '../agents/llm/model.provider';
import { ApprovalService } from '../approvals/approval.service';
import { StreamTicketView } from '../auth/stream-ticket.view';
import { StreamTicketStore } from '../auth/stream-ticket.store';
import { EnvironmentVariables } from '../config/env.validation';
import { ApprovalAnswerView, ApprovalView } from '../approvals/approval.views';
import { ApprovalDecisionDto } from '../approvals/dto/approval-decision.dto';
import { DomainError, FieldError } from '../common/domain.error';
import { Page, PaginationQueryDto } from '../common/pagination.dto';
import { UserContext } from '../context/user-context';
import { IdempotencyService } from '../idempotency/idempotency.service';
import { AgentService, ClientIdTaken, NewRun } from '../runs/agent.service';
import { StartAgentDto } from '../runs/dto/start-agent.dto';
import { UserMessageDto } from '../runs/dto/user-message.dto';
import { RunEvent } from '../runs/run-event';
import { CancelResultView, RunStartedView, RunStatusView } from '../runs/run.views';
import { StatePersistenceService } from '../runs/state-persistence.service';
import { CreateThreadDto, UpdateThreadDto } from '../threads/dto/thread-fields.dto';
import { ThreadService } from '../threads/thread.service';
import { ThreadStore } from '../threads/thread.store';
import { MessageView, ThreadView } from '../threads/thread.views';
import { aboutRun } from '../tracing/run-context';
import { UsageQueryDto } from '../usage/dto/usage-query.dto';
import { UsageService } from '../usage/usage.service';
import { UsageView } from '../usage/usage.views';
import { literalHostProblem } from '../webhooks/address-policy';
import { WebhookDeliveryStore } from '../webhooks/webhook-delivery.store';
import { SIGNATURE_HEADER, WebhookSigner } from '../webhooks/webhook.signer';
import { WebhookDeliveryView, WebhookSecretView } from '../webhooks/webhook.views';

export interface FollowedRun {
  runId: string;
  // null: the run has ended and nothing is after the resume point.
  events: Observable<RunEvent> | null;
}

export interface StartedAndFollowed {
  started: RunStartedView;
  // null: the run has ended and nothing is after the resume point.
  events: Observable<RunEvent> | null;
}

// The channel-agnostic entry points. Every channel (the REST controllers, the WebSocket frame
// table, AG-UI, ...) calls exactly these methods and nothing below them, so the channels behave the
// same by construction. `key` is the request's
// idempotency key (the Idempotency-Key header, or idempotency_key in a frame).
@Injectable(PER_USER)
export class MessageHandlerService {
  constructor(
    private readonly ctx: UserContext,
    private readonly agents: AgentService,
    private readonly threads: ThreadService,
    private readonly threadStore: ThreadStore,
    private readonly persistence: StatePersistenceService,
    private readonly approvals: ApprovalService,
    private readonly idempotency: IdempotencyService,
    private readonly agentRegistry: AgentRegistry,
    private readonly models: ModelProvider,
    private readonly tickets: StreamTicketStore,
    private readonly config: ConfigService<EnvironmentVariables, true>,
    private readonly usage: UsageService,
    private readonly signer: WebhookSigner,
    private readonly deliveries: WebhookDeliveryStore,
  ) {}

  // `open`: thread_id may be a new id, for a thread created with it (clients that choose ids).
  handleStartAgent(dto: StartAgentDto, key?: string, open = false): Promise<RunStartedView> {
    this.checkChoices(dto);
    return this.start('start_run', {}, dto, key, {
      query: dto.query,
      threadId: dto.thread_id,
      clientRunId: dto.id,
      agent: dto.agent,
      model: dto.model,
      strategy: dto.multitask_strategy,
      openThread: open,
      webhook: this.checkedWebhook(dto.webhook),
    });
  }

  // A user message in an existing thread starts a run on it.
  handleUserMessage(threadId: string, dto: UserMessageDto, key?: string): Promise<RunStartedView> {
    return this.start('user_message', { thread_id: threadId }, dto, key, {
      query: dto.message,
      threadId,
      strategy: dto.multitask_strategy,
      webhook: this.checkedWebhook(dto.webhook),
    });
  }

  // Starts a run (or finds the one a replay names) and follows it from `after`.
  async startAndFollow(
    dto: StartAgentDto,
    key?: string,
    after = 0,
    open = false,
  ): Promise<StartedAndFollowed> {
    const started = await this.handleStartAgent(dto, key, open);
    return { started, events: (await this.followRun(started.run_id, after)).events };
  }

  // A user message that starts a run on the thread, followed from `after`.
  async sendAndFollow(
    threadId: string,
    dto: UserMessageDto,
    key?: string,
    after = 0,
  ): Promise<StartedAndFollowed> {
    const started = await this.handleUserMessage(threadId, dto, key);
    return { started, events: (await this.followRun(started.run_id, after)).events };
  }

  handleCreateThread(dto: CreateThreadDto, key?: string): Promise<ThreadView> {
    return this.idempotency.once(
      this.ctx.userId,
      key,
      { operation: 'create_thread', body: fieldsOf(dto) },
      201,
      (tx) => this.threads.create(dto, tx),
    );
  }

  // The first answer to a tool call waiting for approval resumes the run, on whichever instance
  // takes its job.
  handleApproval(
    runId: string,
    interruptId: string,
    dto: ApprovalDecisionDto,
    key?: string,
  ): Promise<ApprovalAnswerView> {
    return this.idempotency.once(
      this.ctx.userId,
      key,
      {
        operation: 'answer_approval',
        params: { run_id: runId, interrupt_id: interruptId },
        body: fieldsOf(dto),
      },
      200,
      (tx) => this.approvals.answer(tx, runId, interruptId, dto),
    );
  }

  // Answers an approval named by its id alone and follows its run from the event that asked for
  // it (or from `after`, a reconnect's resume point, when that is later): for protocols whose
  // clients resume an interrupt rather than post to a run (AG-UI, the Agent Protocol).
  async approveAndFollow(
    interruptId: string,
    dto: ApprovalDecisionDto,
    key?: string,
    after = 0,
  ): Promise<FollowedRun & { answer: ApprovalAnswerView }> {
    const { run_id: runId } = await this.approvals.get(interruptId);
    const answer = await this.handleApproval(runId, interruptId, dto, key);
    const asked = await this.seqOf(
      runId,
      (e) => e.type === 'approval_required' && e.data.interrupt_id === interruptId,
    );
    return { answer, ...(await this.followRun(runId, Math.max(after, asked))) };
  }

  // The registered agents, each with what it is for.
  listAgents(): { name: string; description: string }[] {
    return this.agentRegistry.names().map((name) => ({
      name,
      description: this.agentRegistry.get(name)?.description ?? name,
    }));
  }

  // The caller's webhook signing secret.
  getWebhookSecret(): WebhookSecretView {
    return { secret: this.signer.secretFor(this.ctx.userId), header: SIGNATURE_HEADER };
  }

  // Every attempt to deliver the run's webhook, oldest first.
  async getWebhookDeliveries(runId: string): Promise<WebhookDeliveryView[]> {
    const run = await this.agents.getRun(runId);
    const rows = await this.deliveries.list(this.ctx.userId, run.id);
    return rows.map((row) => WebhookDeliveryView.of(row));
  }

  // A single-use ticket that stands for the caller's token in a URL (an EventSource, a WebSocket
  // from a browser): `?ticket=` on the SSE routes and /ws. It expires no later than the token the
  // request or socket was verified with (`tokenExpiresAt`, a value of the request, not the user).
  async createStreamTicket(tokenExpiresAt: number | undefined): Promise<StreamTicketView> {
    const { ticket, expiresIn } = await this.tickets.issue(
      { id: this.ctx.userId, expiresAt: tokenExpiresAt },
      this.config.get('STREAM_TICKET_TTL_SECONDS', { infer: true }),
    );
    return { ticket, expires_in: expiresIn };
  }

  getUsage(query: UsageQueryDto): Promise<UsageView> {
    return this.usage.usage(query);
  }

  getApprovals(runId: string): Promise<ApprovalView[]> {
    return this.approvals.list(runId);
  }

  // The interrupt ids of the run's approvals already answered: a protocol replaying the run's
  // log goes on past them, where a pending one ends its stream.
  async getAnsweredApprovals(runId: string): Promise<Set<string>> {
    const approvals = await this.approvals.list(runId);
    return new Set(approvals.filter((a) => a.status !== 'pending').map((a) => a.interrupt_id));
  }

  async handleStopAgent(runId: string): Promise<CancelResultView> {
    const result = await this.agents.cancel(runId);
    aboutRun(result.run_id);
    return result;
  }

  async getRunStatus(runId: string): Promise<RunStatusView> {
    const status = await this.agents.status(runId);
    aboutRun(status.run_id);
    return status;
  }

  getRunEvents(runId: string, after?: number, limit?: number): Promise<RunEvent[]> {
    return this.agents.events(runId, after, limit);
  }

  // The run (by its id or the caller's client id) and its events from `after`.
  async followRun(ref: string, after?: number): Promise<FollowedRun> {
    const { run, events } = await this.agents.follow(ref, after);
    aboutRun(run.id);
    return { runId: run.id, events };
  }

  listThreads(page: PaginationQueryDto): Promise<Page<ThreadView>> {
    return this.threads.list(page);
  }

  // Threads by metadata (containment) and, optionally, by their ids or client ids; newest first.
  searchThreads(
    filter: { metadata: Record<string, unknown>; refs?: string[] },
    limit: number,
    offset: number,
  ): Promise<ThreadView[]> {
    return this.threads.search(filter, limit, offset);
  }

  // A thread by its id or the client's own id for it (protocols whose clients name threads).
  findThread(ref: string): Promise<ThreadView> {
    return this.threads.find(ref);
  }

  // The thread under the client's id `ref`, made with `dto` when there is none.
  openThread(ref: string, dto: CreateThreadDto): Promise<{ thread: ThreadView; created: boolean }> {
    return this.persistence.atomically((tx) => this.threads.open(ref, dto, tx));
  }

  getThread(threadId: string): Promise<ThreadView> {
    return this.threads.get(threadId);
  }

  updateThread(threadId: string, dto: UpdateThreadDto): Promise<ThreadView> {
    return this.threads.update(threadId, dto);
  }

  getThreadHistory(threadId: string, page: PaginationQueryDto): Promise<Page<MessageView>> {
    return this.threads.history(threadId, page);
  }

  getThreadRuns(threadId: string, page: PaginationQueryDto): Promise<Page<RunStatusView>> {
    return this.agents.threadRuns(threadId, page);
  }

  // Deleting a thread stops its runs, in one transaction that holds the thread's lock: once it
  // commits no run can start on it, and the ones in progress or queued are cancelled.
  handleDeleteThread(threadId: string): Promise<void> {
    const userId = this.ctx.userId;
    return this.persistence.atomically(async (tx) => {
      await this.threadStore.softDelete(tx, userId, threadId);
      await this.persistence.cancelThreadRuns(tx, userId, threadId, 'thread deleted');
    });
  }

  // The seq of the run's first event that matches, 0 if none does.
  private async seqOf(runId: string, match: (event: RunEvent) => boolean): Promise<number> {
    for (let after = 0; ;) {
      const page = await this.agents.events(runId, after, 1000);
      const found = page.find(match);
      if (found) return found.seq;
      if (page.length < 1000) return 0;
      after = page[page.length - 1].seq;
    }
  }

  private async start(
    operation: string,
    params: Record<string, unknown>,
    dto: object,
    key: string | undefined,
    input: NewRun,
  ): Promise<RunStartedView> {
    const request = { operation, params, body: fieldsOf(dto) };
    let started: RunStartedView;
    try {
      started = await this.idempotency.once(this.ctx.userId, key, request, 202, async (tx) => {
        const created = await this.agents.createRun(tx, input);
        return RunStartedView.of(created.run, created);
      });
    } catch (err) {
      if (!(err instanceof ClientIdTaken)) throw err;
      const created = await this.agents.createdByOther(input);
      started = RunStartedView.of(created.run, created);
    }
    aboutRun(started.run_id);
    return started;
  }

  // A webhook whose host is plainly not public (localhost, a private or loopback address) is
  // refused now, unless the server allows those; a name is checked again when it is sent.
  private checkedWebhook(webhook: string | undefined): string | undefined {
    if (
      webhook === undefined ||
      this.config.get('WEBHOOK_ALLOW_PRIVATE', { infer: true }) === 'true'
    ) {
      return webhook;
    }
    const problem = literalHostProblem(new URL(webhook));
    if (problem) {
      throw DomainError.validation([
        { field: 'webhook', messages: [`webhook must not point at ${problem}`] },
      ]);
    }
    return webhook;
  }

  private checkChoices(dto: StartAgentDto): void {
    const errors: FieldError[] = [];
    if (dto.agent !== undefined && !this.agentRegistry.get(dto.agent)) {
      errors.push({
        field: 'agent',
        messages: [`agent must be one of: ${this.agentRegistry.names().join(', ')}`],
      });
    }
    if (dto.model !== undefined && !this.models.isAllowed(dto.model)) {
      errors.push({
        field: 'model',
        messages: [`model must be one of: ${this.models.allowedModels().join(', ')}`],
      });
    }
    if (errors.length > 0) throw DomainError.validation(errors);
  }
}

// What a request body asked for, without the idempotency key a frame carries in it.
function fieldsOf(dto: object): Record<string, unknown> {
  const { idempotency_key, ...fields } = dto as Record<string, unknown>;
  return fields;
}
