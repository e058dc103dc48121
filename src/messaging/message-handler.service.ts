import { Injectable, Scope } from '@nestjs/common';
import { Observable } from 'rxjs';
import { Page, PaginationQueryDto } from '../common/pagination.dto';
import { AgentRegistry } from '../agents/agent.registry';
import { ModelProvider } from '../agents/llm/model.provider';
import { SupervisorAgent } from '../agents/supervisor.agent';
import { ApprovalService } from '../approvals/approval.service';
import { ApprovalAnswerView, ApprovalView } from '../approvals/approval.views';
import { ApprovalDecisionDto } from '../approvals/dto/approval-decision.dto';
import { DomainError, FieldError } from '../common/domain.error';
import { AgentService } from '../runs/agent.service';
import { StartAgentDto } from '../runs/dto/start-agent.dto';
import { RunEvent } from '../runs/run-event';
import { CancelResultView, RunStartedView, RunStatusView } from '../runs/run.views';
import { ThreadService } from '../threads/thread.service';
import { ThreadStore } from '../threads/thread.store';
import { MessageView } from '../threads/thread.views';
import { UserContext } from '../context/user-context';

// The channel-agnostic entry points. The REST controllers and the WebSocket gateway call exactly
// these methods, so both channels behave the same by construction.
@Injectable({ scope: Scope.REQUEST })
export class MessageHandlerService {
  constructor(
    private readonly ctx: UserContext,
    private readonly agents: AgentService,
    private readonly threads: ThreadService,
    private readonly threadStore: ThreadStore,
    private readonly supervisor: SupervisorAgent,
    private readonly approvals: ApprovalService,
    private readonly agentRegistry: AgentRegistry,
    private readonly models: ModelProvider,
  ) {}

  async handleStartAgent(dto: StartAgentDto): Promise<RunStartedView> {
    this.checkChoices(dto);
    const { run, created } = await this.agents.createRun({
      query: dto.query,
      threadId: dto.thread_id,
      clientRunId: dto.id,
      agent: dto.agent,
      model: dto.model,
    });
    if (created) this.supervisor.start(run);
    return { run_id: run.id, thread_id: run.threadId, status: 'started', replayed: !created };
  }

  // The first answer to a tool call waiting for approval resumes the run, here or after a restart.
  async handleApproval(
    runId: string,
    interruptId: string,
    dto: ApprovalDecisionDto,
  ): Promise<ApprovalAnswerView> {
    const view = await this.approvals.answer(runId, interruptId, dto);
    // Also on a replayed answer: if resuming failed the first time, asking again resumes it.
    // (start() ignores a run this process is already executing.)
    const run = await this.agents.getRun(runId);
    if (run.status === 'running') this.supervisor.start(run);
    return view;
  }

  getApprovals(runId: string): Promise<ApprovalView[]> {
    return this.approvals.list(runId);
  }

  // A user message in an existing thread starts a run on it.
  handleUserMessage(threadId: string, message: string): Promise<RunStartedView> {
    return this.handleStartAgent({ query: message, thread_id: threadId });
  }

  handleStopAgent(runId: string): Promise<CancelResultView> {
    return this.agents.cancel(runId);
  }

  getRunStatus(runId: string): Promise<RunStatusView> {
    return this.agents.status(runId);
  }

  getRunEvents(runId: string, after?: number, limit?: number): Promise<RunEvent[]> {
    return this.agents.events(runId, after, limit);
  }

  followRun(runId: string, after?: number): Promise<Observable<RunEvent> | null> {
    return this.agents.follow(runId, after);
  }

  getThreadHistory(threadId: string, page: PaginationQueryDto): Promise<Page<MessageView>> {
    return this.threads.history(threadId, page);
  }

  getThreadRuns(threadId: string, page: PaginationQueryDto): Promise<Page<RunStatusView>> {
    return this.agents.threadRuns(threadId, page);
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

  // Deleting a thread stops its run: once the delete commits no run can start on it (both take
  // the thread's lock), and the runs that started before are cancelled.
  async handleDeleteThread(threadId: string): Promise<void> {
    await this.threadStore.softDelete(this.ctx.userId, threadId);
    await this.agents.cancelActiveOnThread(threadId);
  }
}
