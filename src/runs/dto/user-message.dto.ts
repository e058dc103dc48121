import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { IdempotencyKeyField } from '../../idempotency/idempotency-key';
import { MultitaskStrategy } from '../multitask-strategy';
import { MAX_QUERY_LENGTH, MultitaskStrategyField, WebhookField } from './start-agent.dto';

// `POST /api/threads/{id}/messages` body.
export class UserMessageDto {
  @ApiProperty({ maxLength: MAX_QUERY_LENGTH, example: 'And what is that times 2?' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(MAX_QUERY_LENGTH)
  message: string;

  @MultitaskStrategyField()
  multitask_strategy?: MultitaskStrategy;

  @WebhookField()
  webhook?: string;
}

// The `user_message` frame payload: the same, with the thread id the URL carries over REST.
export class UserMessageFrameDto extends UserMessageDto {
  @ApiProperty({ format: 'uuid', example: '3f0c5a8e-1d2b-4c6f-9a7e-2b4d6f8a0c1e' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  thread_id: string;

  @IdempotencyKeyField()
  idempotency_key?: string;
}
