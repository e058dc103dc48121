import { applyDecorators } from '@nestjs/common';
import {
  ApiExtraModels,
  ApiHeader,
  ApiProperty,
  ApiPropertyOptional,
  ApiResponse,
  getSchemaPath,
} from '@nestjs/swagger';
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
  @ApiPropertyOptional({
    description: 'rate_limited: milliseconds to wait before trying again',
    example: 12000,
  })
  retry_after_ms?: number;
  @ApiPropertyOptional({ description: 'Correlation id, also in the server log' })
  request_id?: string;
}

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input; `errors` names each bad field',
  401: 'Missing or invalid bearer token',
  404: 'No such resource for this user',
  409: '`thread_busy`: the thread has a run in progress (multitask_strategy reject); `idempotency_conflict`: the id or Idempotency-Key was used for another request; `run_not_waiting`: the run no longer waits for this approval',
  413: '`payload_too_large`: the body is over 1 MiB',
  429: '`rate_limited`: over a per-user limit (requests or run starts a minute, open streams, active runs); try again after Retry-After seconds',
  503: '`unavailable`: the database cannot be reached right now; try again after Retry-After seconds',
};

const REQUEST_ID = '5b8e3c1a-9f2d-4e7b-8a6c-1d3f5e7a9b0c';

// What each status looks like, so a reader (and Swagger UI) sees the right body under each.
const EXAMPLES: Record<number, Record<string, unknown>> = {
  400: {
    statusCode: 400,
    code: 'validation_failed',
    message: 'query should not be empty',
    errors: [{ field: 'query', messages: ['query should not be empty'] }],
    request_id: REQUEST_ID,
  },
  401: {
    statusCode: 401,
    code: 'unauthorized',
    message: 'The bearer token is invalid or expired',
    request_id: REQUEST_ID,
  },
  404: {
    statusCode: 404,
    code: 'not_found',
    message: 'run 3f0c5a8e-1d2b-4c6f-9a7e-2b4d6f8a0c1e not found',
    request_id: REQUEST_ID,
  },
  409: {
    statusCode: 409,
    code: 'thread_busy',
    message: 'The thread has a run in progress',
    request_id: REQUEST_ID,
  },
  413: {
    statusCode: 413,
    code: 'payload_too_large',
    message: 'request entity too large',
    request_id: REQUEST_ID,
  },
  429: {
    statusCode: 429,
    code: 'rate_limited',
    message: 'Too many requests; try again later',
    retry_after_ms: 12000,
    request_id: REQUEST_ID,
  },
  503: {
    statusCode: 503,
    code: 'unavailable',
    message: 'The service cannot reach its database right now; try again in 2 s',
    request_id: REQUEST_ID,
  },
};

const RETRY_AFTER = {
  'Retry-After': {
    description: 'Seconds to wait before trying again',
    schema: { type: 'integer' },
  },
};

// Error answers are JSON on every route, the streaming ones included.
export function ApiErrors(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiExtraModels(ErrorView),
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: DESCRIPTIONS[status],
        headers: status === 429 || status === 503 ? RETRY_AFTER : undefined,
        content: {
          'application/json': {
            schema: { $ref: getSchemaPath(ErrorView) },
            example: EXAMPLES[status],
          },
        },
      }),
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
