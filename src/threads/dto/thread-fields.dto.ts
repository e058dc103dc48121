import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { FreeJsonObject } from '../../common/validation';
import { IdempotencyKeyField } from '../../idempotency/idempotency-key';

export class CreateThreadDto {
  @ApiPropertyOptional({ maxLength: 500, example: 'Quarterly numbers' })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  title?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    example: { project: 'apollo' },
  })
  @FreeJsonObject()
  metadata?: Record<string, unknown>;
}

export class UpdateThreadDto extends CreateThreadDto {}

// The `create_thread` frame payload: the same, with the idempotency key REST sends as a header.
export class CreateThreadFrameDto extends CreateThreadDto {
  @IdempotencyKeyField()
  idempotency_key?: string;
}
