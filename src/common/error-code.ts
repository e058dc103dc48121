// Every error a client can see carries one of these codes, on both channels.
export const ERROR_CODES = [
  'validation_failed',
  'bad_request',
  'unauthorized',
  'not_found',
  'thread_busy',
  'run_not_waiting',
  'idempotency_conflict',
  'already_exists',
  'unknown_type',
  'bad_frame',
  'payload_too_large',
  'uri_too_long',
  'rate_limited',
  'unavailable',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

// The one place a code becomes an HTTP status. Exhaustive by type: a new code must be mapped here.
export const HTTP_STATUS_BY_CODE: Record<ErrorCode, number> = {
  validation_failed: 400,
  bad_request: 400,
  bad_frame: 400,
  unknown_type: 400,
  unauthorized: 401,
  not_found: 404,
  thread_busy: 409,
  idempotency_conflict: 409,
  already_exists: 409,
  run_not_waiting: 409,
  payload_too_large: 413,
  uri_too_long: 414,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
};

// For errors raised by the framework itself (unknown route, unparsable JSON body, ...).
export function codeForHttpStatus(status: number): ErrorCode {
  if (status === 401 || status === 403) return 'unauthorized';
  if (status === 404) return 'not_found';
  if (status === 413) return 'payload_too_large';
  if (status === 414) return 'uri_too_long';
  if (status === 429) return 'rate_limited';
  if (status === 503) return 'unavailable';
  if (status >= 400 && status < 500) return 'bad_request';
  return 'internal';
}
