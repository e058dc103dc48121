import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { isUuid } from '../common/ids';
import { Tx } from '../database/transaction';
import { Decision } from './dto/approval-decision.dto';
import { RunInterrupt } from './run-interrupt.entity';

// Interrupt persistence. Singleton: every method takes the owner, and every query filters by it.
@Injectable()
export class ApprovalStore {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  findForCall(userId: string, runId: string, callId: string): Promise<RunInterrupt | null> {
    return this.db.getRepository(RunInterrupt).findOneBy({ userId, runId, callId });
  }

  find(userId: string, runId: string, interruptId: string, tx?: Tx): Promise<RunInterrupt | null> {
    if (!isUuid(runId) || !isUuid(interruptId)) return Promise.resolve(null);
    const repo = (tx?.manager ?? this.db.manager).getRepository(RunInterrupt);
    return repo.findOneBy({ userId, runId, id: interruptId });
  }

  findById(userId: string, interruptId: string): Promise<RunInterrupt | null> {
    if (!isUuid(interruptId)) return Promise.resolve(null);
    return this.db.getRepository(RunInterrupt).findOneBy({ userId, id: interruptId });
  }

  list(userId: string, runId: string): Promise<RunInterrupt[]> {
    if (!isUuid(runId)) return Promise.resolve([]);
    return this.db
      .getRepository(RunInterrupt)
      .find({ where: { userId, runId }, order: { createdAt: 'ASC' } });
  }

  // One interrupt per tool call: asking again for the same call returns the first one.
  async open(
    manager: EntityManager,
    fields: Pick<RunInterrupt, 'userId' | 'runId' | 'callId' | 'agentName' | 'tool' | 'arguments'>,
  ): Promise<RunInterrupt> {
    await manager.query(
      `INSERT INTO run_interrupts (user_id, run_id, call_id, agent_name, tool, arguments)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb) ON CONFLICT (run_id, call_id) DO NOTHING`,
      [
        fields.userId,
        fields.runId,
        fields.callId,
        fields.agentName,
        fields.tool,
        JSON.stringify(fields.arguments),
      ],
    );
    return manager.getRepository(RunInterrupt).findOneByOrFail({
      userId: fields.userId,
      runId: fields.runId,
      callId: fields.callId,
    });
  }

  // Records the first answer only; returns null when it had been answered already.
  async decide(
    manager: EntityManager,
    userId: string,
    runId: string,
    interruptId: string,
    decision: Decision,
    message: string | undefined,
  ): Promise<RunInterrupt | null> {
    if (!isUuid(runId) || !isUuid(interruptId)) return null;
    // An UPDATE through TypeORM's query() answers [rows, affected count].
    const [rows] = await manager.query<[{ id: string }[], number]>(
      `UPDATE run_interrupts SET status = $4, message = $5, decided_by = $3, decided_at = now()
       WHERE id = $1 AND run_id = $2 AND user_id = $3 AND status = 'pending'
       RETURNING id`,
      [
        interruptId,
        runId,
        userId,
        decision === 'approve' ? 'approved' : 'rejected',
        message ?? null,
      ],
    );
    if (rows.length === 0) return null;
    return manager.getRepository(RunInterrupt).findOneByOrFail({ id: interruptId, userId });
  }
}
