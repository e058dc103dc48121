import { PinoLogger } from 'nestjs-pino';
import { Store, storage } from 'nestjs-pino/storage';

// Fields on every log line of a piece of work: the request id, the user id, the run id. An HTTP
// request gets its context from pino-http (with its request id); logContext() adds to it once the
// user is known. A WebSocket frame or a run executing in the worker has no HTTP request:
// withLogContext() gives it one of its own.

// Adds fields to the lines of the current request (the request's own closing line included).
export function addLogFields(fields: Record<string, unknown>): void {
  const store = storage.getStore();
  if (!store) return;
  store.logger = store.logger.child(fields);
  store.responseLogger?.setBindings(fields);
}

// Runs `work` with these fields on every line it logs (through Nest's Logger and nestjs-pino).
export function withLogContext<T>(fields: Record<string, unknown>, work: () => T): T {
  // PinoLogger.root is set once LoggerModule has started; not in a unit test without it.
  const root: typeof PinoLogger.root | undefined = PinoLogger.root;
  const parent = storage.getStore()?.logger ?? root;
  if (!parent) return work();
  return storage.run(new Store(parent.child(fields)), work);
}
