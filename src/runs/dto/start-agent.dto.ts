import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsNotEmpty, IsOptional, IsString, IsUrl, Matches, MaxLength } from 'class-validator';
import { IdempotencyKeyField } from '../../idempotency/idempotency-key';
import {
  DEFAULT_MULTITASK_STRATEGY,
  MULTITASK_STRATEGIES,
  MultitaskStrategy,
} from '../multitask-strategy';

export const MAX_QUERY_LENGTH = 20_000;

// `POST /api/agent/run_agent` body and the `start_agent` frame payload.
export class StartAgentDto {
  @ApiProperty({ maxLength: MAX_QUERY_LENGTH, example: 'What is 17 * 23?' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(MAX_QUERY_LENGTH)
  query: string;

  @ApiPropertyOptional({
    description:
      'Your own id for this run. Sending the same id again returns the same run instead of a new one.',
    maxLength: 200,
    example: 'run_123',
  })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  @Matches(/^[A-Za-z0-9._:-]+$/, { message: 'id may only contain letters, digits and . _ : -' })
  id?: string;

  @ApiPropertyOptional({
    format: 'uuid',
    example: '9b1d3f5a-7c9e-4b2d-8f6a-0c2e4a6b8d0f',
    description: 'Continue this thread; without it a new thread is created',
  })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  thread_id?: string;

  @ApiPropertyOptional({
    description: 'The agent that answers: `supervisor` (default) or one a module registered',
    example: 'supervisor',
  })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  agent?: string;

  @ApiPropertyOptional({
    description:
      'A model the configuration allows (LLM_MODEL or one of LLM_MODELS); default LLM_MODEL',
    example: 'gpt-4o-mini',
  })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  model?: string;

  @MultitaskStrategyField()
  multitask_strategy?: MultitaskStrategy;

  @WebhookField()
  webhook?: string;
}

// The `start_agent` frame payload: the same, with the idempotency key REST sends as a header.
export class StartAgentFrameDto extends StartAgentDto {
  @IdempotencyKeyField()
  idempotency_key?: string;
}

// Where the run's final status is POSTed when it ends, signed (see docs/channels.md#webhooks).
export function WebhookField(): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({
      format: 'uri',
      maxLength: 2000,
      example: 'https://example.com/hooks/netra',
      description:
        "POSTed the run's final status when it ends, signed with your webhook secret (X-Netra-Signature), retried with backoff until a 2xx; private, loopback and link-local addresses are refused unless the server allows them",
    }),
    IsOptional(),
    IsString(),
    MaxLength(2000),
    IsUrl(
      { protocols: ['http', 'https'], require_protocol: true, require_tld: false },
      { message: 'webhook must be an http(s) URL' },
    ),
  );
}

// The default is in the description, not a `default` keyword: client generators read a property
// with a default as always present (openapi-typescript's defaultNonNullable, on by default, makes
// it required in the component schema these bodies are), so a body of the required fields alone
// would not compile in a generated client. test/contracts.e2e-spec.ts checks every request body.
export function MultitaskStrategyField(): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({
      enum: MULTITASK_STRATEGIES,
      description:
        'When the thread already has a run in progress: `enqueue` waits for it (runs on a ' +
        'thread execute one after another, in order), `reject` answers 409 thread_busy, ' +
        '`interrupt` cancels it (and any queued behind it) and starts this one. Default: ' +
        `\`${DEFAULT_MULTITASK_STRATEGY}\``,
    }),
    IsOptional(),
    IsIn(MULTITASK_STRATEGIES),
  );
}
