import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ERROR_CODES, ErrorCode } from '../../common/error-code';

// The shapes of the frames only the WebSocket has (the REST twins answer other views or none).
// They describe what ws-operations.ts and the gateway send; the AsyncAPI document is made of them.

export class SubscribedView {
  @ApiProperty({ format: 'uuid', example: '3f0c5a8e-1d2b-4c6f-9a7e-2b4d6f8a0c1e' })
  run_id: string;

  @ApiProperty({ minimum: 0, example: 0, description: 'Events with seq > after follow' })
  after: number;

  @ApiProperty({
    example: false,
    description: 'true: the run is over and nothing is after `after`, so no agent_update follows',
  })
  ended: boolean;
}

export class UnsubscribedView {
  @ApiProperty({ format: 'uuid', example: '3f0c5a8e-1d2b-4c6f-9a7e-2b4d6f8a0c1e' })
  run_id: string;

  @ApiProperty({ example: true, description: 'false when the socket did not follow the run' })
  unsubscribed: boolean;
}

export class ThreadDeletedView {
  @ApiProperty({ format: 'uuid', example: '3f0c5a8e-1d2b-4c6f-9a7e-2b4d6f8a0c1e' })
  thread_id: string;

  @ApiProperty({ example: true, description: 'Always true' })
  deleted: boolean;
}

export class FieldErrorFrameView {
  @ApiProperty({ example: 'query' })
  field: string;

  @ApiProperty({ type: [String], example: ['query should not be empty'] })
  messages: string[];
}

// `payload` of an `error` frame: ErrorPayload (common/error-response.ts), as toErrorPayload makes it.
export class ErrorFrameView {
  @ApiProperty({ enum: ERROR_CODES, example: 'validation_failed' })
  code: ErrorCode;

  @ApiProperty({ example: 'query should not be empty' })
  message: string;

  @ApiPropertyOptional({
    type: [FieldErrorFrameView],
    description: 'validation_failed: each bad field',
  })
  errors?: FieldErrorFrameView[];

  @ApiPropertyOptional({
    minimum: 0,
    example: 12000,
    description: 'rate_limited: milliseconds to wait before trying again; the socket stays open',
  })
  retry_after_ms?: number;

  @ApiPropertyOptional({
    format: 'uuid',
    example: '5b8e3c1a-9f2d-4e7b-8a6c-1d3f5e7a9b0c',
    description:
      "The server's correlation id, also in its log; absent on errors not tied to a request " +
      '(an expired token, a failed event stream)',
  })
  request_id?: string;
}
