import { ErrorCode } from './error-code';

export interface FieldError {
  field: string;
  messages: string[];
}

// A failure the client caused or can act on. Services throw these; each channel maps them
// (REST: status + JSON body, WebSocket: an `error` frame) without knowing the cause.
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: { errors?: FieldError[] } & Record<string, unknown>,
  ) {
    super(message);
    this.name = 'DomainError';
  }

  static notFound(what: 'run' | 'thread', id: string): DomainError {
    return new DomainError('not_found', `${what} ${id} not found`);
  }

  static validation(errors: FieldError[]): DomainError {
    const message = errors.map((e) => e.messages.join('; ')).join('; ');
    return new DomainError('validation_failed', message || 'invalid input', { errors });
  }

  // A validation error with its fields named as a protocol's input names them (the shared layer
  // says `query` where AG-UI says `messages`); any other error as it is.
  static renamingFields(err: unknown, rename: (field: string) => string): unknown {
    if (!(err instanceof DomainError) || err.code !== 'validation_failed') return err;
    const errors = (err.details?.errors ?? []).map((e) => ({ ...e, field: rename(e.field) }));
    return DomainError.validation(errors);
  }
}
