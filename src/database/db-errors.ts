// Errors that mean "the database cannot be reached right now", not "this request is wrong": a refused
// or dropped connection, a server shutting down or starting up, a pool that could not connect in
// time. Clients get 503 with Retry-After for these, and the executor leaves the run to be retried.
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
// SQLSTATE: 08 connection exceptions, 57P01-57P03 shutdown and startup, 53300 too many connections,
// 57014 a statement cancelled by statement_timeout (a database too busy or stuck to answer).
const SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300', '57014']);
const MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Connection ended unexpectedly',
  'connect ECONNREFUSED',
  'the database system is',
  'Cannot use a pool after calling end',
  'Query read timeout',
];

export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (!error || typeof error !== 'object' || depth > 3) return false;
  const { code, message, driverError, cause, errors } = error as {
    code?: unknown;
    message?: unknown;
    driverError?: unknown;
    cause?: unknown;
    errors?: unknown;
  };
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || SQLSTATES.has(code))) return true;
  if (typeof code === 'string' && code.startsWith('08')) return true;
  if (typeof message === 'string' && MESSAGES.some((m) => message.includes(m))) return true;
  // TypeORM wraps the driver's error; an AggregateError (connect to ::1 and 127.0.0.1) holds several.
  if (Array.isArray(errors) && errors.some((e) => isDatabaseUnavailable(e, depth + 1))) return true;
  return isDatabaseUnavailable(driverError, depth + 1) || isDatabaseUnavailable(cause, depth + 1);
}
