import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { INTERRUPT_STATUSES, InterruptStatus, RunInterrupt } from './run-interrupt.entity';

export class ApprovalView {
  @ApiProperty({ format: 'uuid', example: '3f0c5a8e-1d2b-4c6f-9a7e-2b4d6f8a0c1e' })
  interrupt_id: string;

  @ApiProperty({ format: 'uuid', example: '3f0c5a8e-1d2b-4c6f-9a7e-2b4d6f8a0c1e' })
  run_id: string;

  @ApiProperty({ example: 'send_email' })
  tool: string;

  @ApiProperty({
    example: '151ead35-6ad2-4e56-a840-fd08105511d5',
    description: 'Unique in the run',
  })
  call_id: string;

  @ApiProperty({ example: 'supervisor' })
  agent_name: string;

  @ApiProperty({ type: 'object', additionalProperties: true, example: { to: 'ops@example.com' } })
  arguments: Record<string, unknown>;

  @ApiProperty({ enum: INTERRUPT_STATUSES, example: 'approved' })
  status: InterruptStatus;

  @ApiProperty({ type: String, nullable: true, example: 'Go ahead' })
  message: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'alice' })
  decided_by: string | null;

  @ApiProperty({ type: String, nullable: true, example: '2026-11-25T18:00:05.000Z' })
  decided_at: string | null;

  @ApiProperty({ example: '2026-11-25T18:00:01.000Z' })
  created_at: string;

  static of(row: RunInterrupt): ApprovalView {
    return {
      interrupt_id: row.id,
      run_id: row.runId,
      tool: row.tool,
      call_id: row.callId,
      agent_name: row.agentName,
      arguments: row.arguments,
      status: row.status,
      message: row.message,
      decided_by: row.decidedBy,
      decided_at: row.decidedAt ? row.decidedAt.toISOString() : null,
      created_at: row.createdAt.toISOString(),
    };
  }
}

export class ApprovalAnswerView extends ApprovalView {
  @ApiPropertyOptional({
    description: 'true when the interrupt had already been answered: this is that first answer',
    example: false,
  })
  replayed: boolean;
}
