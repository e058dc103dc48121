import { HttpException, Logger } from '@nestjs/common';
import { isDatabaseUnavailable } from '../database/db-errors';
import { DomainError } from './domain.error';
import { codeForHttpStatus, ErrorCode, HTTP_STATUS_BY_CODE } from './error-code';

export interface ErrorPayload {
  code: ErrorCode;
  message: string;
  errors?: { field: string; messages: string[] }[];
  // rate_limited: when to try again.
  retry_after_ms?: number;
  request_id?: string;
}

const logger = new Logger('Errors');

// Seconds a client is asked to wait (Retry-After) before trying again after a 503.
export const RETRY_AFTER_SECONDS = 2;

// The one mapping from anything thrown to what a client may see. Unknown errors are logged with the
// correlation id and reach the client as `internal` with no detail.
export function toErrorPayload(
  error: unknown,
  requestId: string | undefined,
): { status: number; payload: ErrorPayload } {
  if (error instanceof DomainError) {
    const payload: ErrorPayload = {
      code: error.code,
      message: error.message,
      request_id: requestId,
    };
    if (error.details?.errors) payload.errors = error.details.errors;
    if (typeof error.details?.retry_after_ms === 'number') {
      payload.retry_after_ms = error.details.retry_after_ms;
    }
    return { status: HTTP_STATUS_BY_CODE[error.code], payload };
  }
  // A state, not a bug: the database is away (an outage, a failover). Logged once per request as a
  // warning, without the stack.
  if (isDatabaseUnavailable(error)) {
    logger.warn(`Database unavailable (request ${requestId ?? 'n/a'}): ${String(error)}`);
    return {
      status: 503,
      payload: {
        code: 'unavailable',
        message: `The service cannot reach its database right now; try again in ${RETRY_AFTER_SECONDS} s`,
        request_id: requestId,
      },
    };
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    // 503 is a state, not a bug (the health check while the database is down): say it as it is.
    if (status < 500 || status === 503) {
      const code = codeForHttpStatus(status);
      return { status, payload: { code, message: httpMessage(error), request_id: requestId } };
    }
  }
  // Errors from Express's own middleware (http-errors), e.g. a body over the size limit: 413.
  const httpError = error as { status?: unknown; expose?: unknown; message?: unknown };
  if (
    typeof httpError?.status === 'number' &&
    httpError.status >= 400 &&
    httpError.status < 500 &&
    httpError.expose === true
  ) {
    const message = typeof httpError.message === 'string' ? httpError.message : 'bad request';
    return {
      status: httpError.status,
      payload: { code: codeForHttpStatus(httpError.status), message, request_id: requestId },
    };
  }
  logger.error(
    { err: error, request_id: requestId },
    `Unhandled error (request ${requestId ?? 'n/a'}): ${String(error)}`,
  );
  return {
    status: 500,
    payload: { code: 'internal', message: 'Internal error', request_id: requestId },
  };
}

function httpMessage(error: HttpException): string {
  const response = error.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  if (Array.isArray(message)) return message.join('; ');
  return typeof message === 'string' ? message : error.message;
}
