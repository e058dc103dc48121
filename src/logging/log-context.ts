import { PinoLogger } from 'nestjs-pino';

// Fields on every log line of a piece of work: the request id, the user id, the run id. An HTTP
// request gets its context from pino-http (with its request id); logContext() adds to it once the
// user is known. A WebSocket frame or a run executing in the worker has no HTTP request:
// withLogContext() gives it one of its own.
//
// nestjs-pino 5 no longer exports its AsyncLocalStorage ('nestjs-pino/storage'); PinoLogger's
// assign() and runInContext() are the public way to it. They act on the current context, not on
// the instance, so any one PinoLogger serves every caller: the app module hands one over at start
// (useLogContexts). Before that (a unit test without LoggerModule) both functions just do nothing
// more than run the work.
let contexts: PinoLogger | undefined;

export function useLogContexts(logger: PinoLogger): PinoLogger {
  contexts = logger;
  return logger;
}

// Adds fields to the lines of the current request (the request's own closing line included).
export function addLogFields(fields: Record<string, unknown>): void {
  try {
    contexts?.assign(fields);
  } catch {
    // Outside any request or run context (assign throws there): no lines to add fields to.
  }
}

// Runs `work` with these fields on every line it logs (through Nest's Logger and nestjs-pino).
export function withLogContext<T>(fields: Record<string, unknown>, work: () => T): T {
  // PinoLogger.root is set once LoggerModule has started; not in a unit test without it.
  const root: typeof PinoLogger.root | undefined = PinoLogger.root;
  if (!contexts || !root) return work();
  // inherit: a child of the surrounding context's logger when there is one, else of the root.
  return contexts.runInContext(work, { bindings: fields, inherit: true });
}
