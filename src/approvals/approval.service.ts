import { Injectable } from '@nestjs/common';
import { PER_USER } from '../context/per-user';
import { DomainError } from '../common/domain.error';
import { UserContext } from '../context/user-context';
import { Tx } from '../database/transaction';
import { RunStore } from '../runs/run.store';
import { StatePersistenceService } from '../runs/state-persistence.service';
import { ApprovalAnswerView, ApprovalView } from './approval.views';
import { ApprovalStore } from './approval.store';
import { ApprovalDecisionDto } from './dto/approval-decision.dto';

// Human answers to tool calls that need approval, as the current user gives them.
@Injectable(PER_USER)
export class ApprovalService {
  constructor(
    private readonly ctx: UserContext,
    private readonly store: ApprovalStore,
    private readonly runs: RunStore,
    private readonly persistence: StatePersistenceService,
  ) {}

  async list(runRef: string): Promise<ApprovalView[]> {
    const run = await this.requireRun(runRef);
    return (await this.store.list(this.ctx.userId, run.id)).map((row) => ApprovalView.of(row));
  }

  // One approval by its id alone (protocols that answer an interrupt without naming the run).
  async get(interruptId: string): Promise<ApprovalView> {
    const row = await this.store.findById(this.ctx.userId, interruptId);
    if (!row) throw new DomainError('not_found', `approval ${interruptId} not found`);
    return ApprovalView.of(row);
  }

  // The first answer is stored and moves the run back to running with a job that continues it, in
  // `tx`; any later answer, from any connection, gets that first answer back (`replayed`).
  async answer(
    tx: Tx,
    runRef: string,
    interruptId: string,
    dto: ApprovalDecisionDto,
  ): Promise<ApprovalAnswerView> {
    const userId = this.ctx.userId;
    const run = await this.requireRun(runRef, tx);
    const decided = await this.store.decide(
      tx.manager,
      userId,
      run.id,
      interruptId,
      dto.decision,
      dto.message,
    );
    if (decided) {
      const resumed = await this.persistence.resume(tx, { userId, runId: run.id }, run, {
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
      });
      // The run is no longer waiting (cancelled, or its thread deleted): record nothing (the
      // transaction rolls back), so the audit trail never shows an approval for a call that will
      // not run.
      if (!resumed) {
        throw new DomainError(
          'run_not_waiting',
          `run ${runRef} is no longer waiting for this approval (it was cancelled or has finished)`,
        );
      }
      return { ...ApprovalView.of(decided), replayed: false };
    }
    // Not decided now: answered before (return that answer), or not this user's (not found).
    const earlier = await this.store.find(userId, run.id, interruptId, tx);
    if (!earlier) throw new DomainError('not_found', `approval ${interruptId} not found`);
    // A pending row here means the run is gone from under it (deleted), which the caller cannot fix.
    if (earlier.status === 'pending')
      throw new Error(`approval ${interruptId} could not be decided`);
    return { ...ApprovalView.of(earlier), replayed: true };
  }

  private async requireRun(ref: string, tx?: Tx) {
    const run = await this.runs.findByRef(this.ctx.userId, ref, tx);
    if (!run) throw DomainError.notFound('run', ref);
    return run;
  }
}
