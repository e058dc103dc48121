import { applyDecorators } from '@nestjs/common';
import { ApiHeader, ApiProperty, ApiPropertyOptional, ApiResponse } from '@nestjs/swagger';
import { ERROR_CODES, ErrorCode } from '../common/error-code';

class FieldErrorView {
  @ApiProperty({ example: 'query' })
  field: string;
  @ApiProperty({ type: [String], example: ['query should not be empty'] })
  messages: string[];
}

export class ErrorView {
  @ApiProperty({ example: 400 })
  statusCode: number;
  @ApiProperty({ enum: ERROR_CODES, example: 'validation_failed' })
  code: ErrorCode;
  @ApiProperty({ example: 'query should not be empty' })
  message: string;
  @ApiPropertyOptional({ type: [FieldErrorView] })
  errors?: FieldErrorView[];
  @ApiPropertyOptional({ description: 'Correlation id, also in the server log' })
  request_id?: string;
}

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input; `errors` names each bad field',
  401: 'Missing or invalid bearer token',
  404: 'No such resource for this user',
  409: '`thread_busy`: the thread has a run in progress (multitask_strategy reject); `idempotency_conflict`: the id or Idempotency-Key was used for another request; `run_not_waiting`: the run no longer waits for this approval',
  503: '`unavailable`: the database cannot be reached right now; try again after Retry-After seconds',
};

export function ApiErrors(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({ status, description: DESCRIPTIONS[status], type: ErrorView }),
    ),
  );
}

// A POST that creates something takes an Idempotency-Key.
export function ApiIdempotencyKey(): MethodDecorator {
  return ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      'Your key for this request (1 to 255 visible ASCII characters, no spaces: a UUID for instance). ' +
      'Sending it again with the same request returns the first answer instead of doing it ' +
      'twice; with a different request it is 409 idempotency_conflict. Kept for 24 hours.',
  });
}
