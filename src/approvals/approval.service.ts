import { Injectable, Scope } from '@nestjs/common';
import { DomainError } from '../common/domain.error';
import { UserContext } from '../context/user-context';
import { StatePersistenceService } from '../runs/state-persistence.service';
import { ApprovalAnswerView, ApprovalView } from './approval.views';
import { ApprovalStore } from './approval.store';
import { ApprovalDecisionDto } from './dto/approval-decision.dto';

// Human answers to tool calls that need approval, as the current user gives them.
@Injectable({ scope: Scope.REQUEST })
export class ApprovalService {
  constructor(
    private readonly ctx: UserContext,
    private readonly store: ApprovalStore,
    private readonly persistence: StatePersistenceService,
  ) {}

  async list(runId: string): Promise<ApprovalView[]> {
    if (!(await this.persistence.findRun(this.ctx.userId, runId))) {
      throw DomainError.notFound('run', runId);
    }
    return (await this.store.list(this.ctx.userId, runId)).map((row) => ApprovalView.of(row));
  }

  // The first answer is stored and moves the run back to running, in one transaction; any later
  // answer, from any connection, gets that first answer back (`replayed`).
  async answer(
    runId: string,
    interruptId: string,
    dto: ApprovalDecisionDto,
  ): Promise<ApprovalAnswerView> {
    const userId = this.ctx.userId;
    const outcome = await this.persistence.atomically(async ({ manager, transition }) => {
      const decided = await this.store.decide(
        manager,
        userId,
        runId,
        interruptId,
        dto.decision,
        dto.message,
      );
      if (!decided) return null;
      const resumed = await transition(
        userId,
        runId,
        { from: ['requires_action'], to: 'running' },
        {
          type: 'approval_resolved',
          agentName: decided.agentName,
          data: {
            interrupt_id: decided.id,
            tool: decided.tool,
            call_id: decided.callId,
            decision: dto.decision,
            message: decided.message,
            decided_by: decided.decidedBy,
          },
        },
      );
      // The run is no longer waiting (cancelled, or its thread deleted): record nothing, so the
      // audit trail never shows an approval for a call that will not run.
      if (!resumed) {
        throw new DomainError(
          'run_not_waiting',
          `run ${runId} is no longer waiting for this approval (it was cancelled or has finished)`,
        );
      }
      return decided;
    });
    if (outcome) return { ...ApprovalView.of(outcome), replayed: false };
    // Not decided now: answered before (return that answer), or not this user's (not found).
    const earlier = await this.store.find(userId, runId, interruptId);
    if (!earlier) throw new DomainError('not_found', `approval ${interruptId} not found`);
    // A pending row here means the run is gone from under it (deleted), which the caller cannot fix.
    if (earlier.status === 'pending')
      throw new Error(`approval ${interruptId} could not be decided`);
    return { ...ApprovalView.of(earlier), replayed: true };
  }
}
