import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import { IdempotencyKeyField } from '../../idempotency/idempotency-key';

export const DECISIONS = ['approve', 'reject'] as const;
export type Decision = (typeof DECISIONS)[number];

// `POST /api/agent/{run_id}/approvals/{interrupt_id}` body.
export class ApprovalDecisionDto {
  @ApiProperty({ enum: DECISIONS, example: 'approve' })
  @IsIn(DECISIONS)
  decision: Decision;

  @ApiPropertyOptional({ maxLength: 2000, example: 'Fine, but only this once' })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  message?: string;
}

// The `approve_tool` frame payload: the same, with the ids the URL carries over REST.
export class ApproveToolFrameDto extends ApprovalDecisionDto {
  @ApiProperty({
    description: 'The run id, or your own client id of the run',
    example: '3f0c5a8e-1d2b-4c6f-9a7e-2b4d6f8a0c1e',
  })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  run_id: string;

  @ApiProperty({ format: 'uuid', example: '3f0c5a8e-1d2b-4c6f-9a7e-2b4d6f8a0c1e' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  interrupt_id: string;

  @IdempotencyKeyField()
  idempotency_key?: string;
}
