import {
  applyDecorators,
  ArgumentMetadata,
  Injectable,
  ValidationError,
  ValidationPipe,
  ValidationPipeOptions,
} from '@nestjs/common';
import { Transform } from 'class-transformer';
import { getMetadataStorage, IsObject, ValidateIf } from 'class-validator';
import { DomainError, FieldError } from './domain.error';

// One set of options for both channels: unknown properties are errors, strings become numbers where
// the DTO says so.
export const VALIDATION_OPTIONS = {
  whitelist: true,
  forbidNonWhitelisted: true,
  transform: true,
  transformOptions: { enableImplicitConversion: false },
} as const;

// How deep any value in a body, a query or a frame may nest. No field of the API needs more; a
// deeper one would cost stack in every layer that walks it.
export const MAX_JSON_DEPTH = 32;

// How deep a whole body (REST, AG-UI, the Agent Protocol, MCP) or frame payload (WebSocket) may
// nest: fields at MAX_JSON_DEPTH, inside a protocol's envelope (JSON-RPC's params.arguments,
// AG-UI's messages). Deeper is refused before anything reads it (nestingError): Nest's
// ValidationPipe, class-transformer and class-validator recurse once per level, and nested arrays
// within the body limit (half a million levels) overflow their stack into a 500. Up to this depth
// the fields are screened one by one (screen, screenLooseJson) and named.
export const MAX_BODY_DEPTH = 2 * MAX_JSON_DEPTH;

// The bounds of a client's own JSON (a thread's metadata): it is stored and sent back as it is.
export const FREE_JSON_LIMITS = { depth: 16, keys: 1_000, bytes: 64 * 1024 };

const FREE_JSON_FIELDS = Symbol('free JSON fields');

export function flattenValidationErrors(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = error.constraints ? [{ field, messages: Object.values(error.constraints) }] : [];
    return [...own, ...flattenValidationErrors(error.children ?? [], field)];
  });
}

export const validationPipeOptions: ValidationPipeOptions = {
  ...VALIDATION_OPTIONS,
  exceptionFactory: (errors) => DomainError.validation(flattenValidationErrors(errors)),
};

// An integer field that a query string carries as text: digits become the number, anything else
// stays as it came for IsInt to refuse (class-transformer's Number() would take '' as 0, '0x10'
// as 16, and throw on an object whose toString is not a function).
export function IntegerFromText(): PropertyDecorator {
  return Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' && /^-?\d{1,16}$/.test(value) ? Number(value) : value,
  );
}

// A property holding the client's own JSON object: optional (absent, not null), an object within
// FREE_JSON_LIMITS, and kept exactly as sent (the pipe's own clean-up and class-transformer would
// drop keys named `constructor`, `__proto__` or after Object.prototype's methods).
export function FreeJsonObject(): PropertyDecorator {
  return applyDecorators(
    ValidateIf((_object: object, value: unknown) => value !== undefined),
    IsObject(),
    (target: object, key: string | symbol) => {
      const fields = (Reflect.getMetadata(FREE_JSON_FIELDS, target) as (string | symbol)[]) ?? [];
      Reflect.defineMetadata(FREE_JSON_FIELDS, [...fields, key], target);
    },
  );
}

// ValidationPipe, and before it what class-transformer cannot be trusted with: keys the DTO does
// not declare, whatever their name (`constructor` and `__proto__` would slip past it), values
// nested deeper than MAX_JSON_DEPTH, and free JSON beyond its bounds. Both channels use it: REST as
// the global pipe, the WebSocket through validatePayload.
@Injectable()
export class StrictValidationPipe extends ValidationPipe {
  constructor() {
    super(validationPipeOptions);
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    // A path parameter or a lone query value: text the database can store, or a 400 naming it.
    if (typeof value === 'string' && !storableText(value)) {
      const field = metadata.data ?? metadata.type;
      throw DomainError.validation([{ field, messages: [`${field} ${UNSTORABLE}`] }]);
    }
    const dto = metadata.metatype;
    if (!dto || !this.toValidate(metadata) || !isPlainObject(value)) {
      return super.transform(value, metadata);
    }
    const { unknown, unsafe, free } = screen(dto, value);
    // What nothing else may walk is refused at once; unknown keys are reported with the rest.
    if (unsafe.length > 0) throw DomainError.validation([...unknown, ...unsafe]);
    const raw = value as Record<string, unknown>;
    for (const { field } of unknown) delete raw[field];
    // The client's own JSON goes around the pipe, an empty object standing in for it.
    const kept = free.filter((field) => raw[field] !== undefined).map((f) => [f, raw[f]] as const);
    for (const [field] of kept) raw[field] = {};
    let result: Record<string, unknown>;
    try {
      result = (await super.transform(value, metadata)) as Record<string, unknown>;
    } catch (err) {
      if (unknown.length === 0 || !(err instanceof DomainError)) throw err;
      throw DomainError.validation([...unknown, ...(err.details?.errors ?? [])]);
    }
    if (unknown.length > 0) throw DomainError.validation(unknown);
    for (const [field, original] of kept) result[field] = original;
    return result;
  }
}

// What the pipe must not see: keys the DTO does not declare, values nested too deep, free JSON
// out of bounds. Also the DTO's free JSON fields.
function screen(
  dto: abstract new (...args: never[]) => unknown,
  value: object,
): { unknown: FieldError[]; unsafe: FieldError[]; free: string[] } {
  const known = new Set(
    getMetadataStorage()
      .getTargetValidationMetadatas(dto, '', true, false)
      .map((m) => m.propertyName),
  );
  const prototype = dto.prototype as object;
  const free = new Set((Reflect.getMetadata(FREE_JSON_FIELDS, prototype) as string[]) ?? []);
  const unknown: FieldError[] = [];
  const unsafe: FieldError[] = [];
  for (const field of Object.keys(value)) {
    const child = (value as Record<string, unknown>)[field];
    if (!known.has(field)) {
      unknown.push({ field, messages: [`property ${field} should not exist`] });
    } else if (child === null) {
      // No field of a request is nullable: leave it out instead. (Optional fields would let null
      // through to the services, which take it for a value.)
      unsafe.push({ field, messages: [`${field} must not be null; leave it out instead`] });
    } else if (free.has(field)) {
      const problem = child === undefined ? undefined : freeJsonProblem(child);
      if (problem) unsafe.push({ field, messages: [`${field} ${problem}`] });
    } else if (depthOf(child, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
      unsafe.push({ field, messages: [`${field} is nested deeper than ${MAX_JSON_DEPTH} levels`] });
    } else if (!storableJson(child)) {
      unsafe.push({ field, messages: [`${field} ${UNSTORABLE}`] });
    }
  }
  // An unknown key's value is never walked: it is deleted before the pipe runs.
  return { unknown, unsafe, free: [...free] };
}

function freeJsonProblem(value: unknown): string | undefined {
  const { depth, keys, bytes } = FREE_JSON_LIMITS;
  if (!isPlainObject(value)) return 'must be an object';
  if (depthOf(value, depth) > depth) return `is nested deeper than ${depth} levels`;
  if (keyCount(value, keys) > keys) return `has more than ${keys} keys`;
  if (JSON.stringify(value ?? null).length > bytes) return `is larger than ${bytes} bytes`;
  if (!storableJson(value)) return UNSTORABLE;
  return undefined;
}

// How deep a JSON value nests (a scalar is 0), counting no further than limit + 1. Walked with a
// stack of its own: the value may be deeper than the call stack.
export function depthOf(value: unknown, limit: number): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth + 1 > deepest) deepest = depth + 1;
    if (deepest > limit) return deepest;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return deepest;
}

// How many object keys a JSON value holds in all, counting no further than limit + 1.
export function keyCount(value: unknown, limit: number): number {
  let count = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0 && count <= limit) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object') continue;
    const children = Object.values(node);
    if (!Array.isArray(node)) count += children.length;
    for (const child of children) stack.push(child);
  }
  return count;
}

const UNSTORABLE = 'must not contain NUL characters or unpaired UTF-16 surrogates';

// Text PostgreSQL can keep as sent: no NUL (text and jsonb refuse it) and no half of a surrogate
// pair (jsonb refuses it; text would quietly store U+FFFD instead).
export function storableText(text: string): boolean {
  return !text.includes('\u0000') && (text as string & { isWellFormed(): boolean }).isWellFormed();
}

// Every string of a JSON value, keys included, storable. Walked with a stack of its own, after the
// depth was bounded.
function storableJson(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node === 'string') {
      if (!storableText(node)) return false;
    } else if (node !== null && typeof node === 'object') {
      for (const [key, child] of Object.entries(node)) {
        if (!storableText(key)) return false;
        stack.push(child);
      }
    }
  }
  return true;
}

// Keys named after Object.prototype's members (`__proto__`, `constructor`, `toString`, ...) or
// `prototype`, anywhere in a JSON value, as dotted paths: refused even where a protocol allows
// fields of its own choosing (its schema is loose), as code walking the value could be fooled by
// them. Walked with a stack of its own, after the depth was bounded.
const PROTOTYPE_NAMES = new Set([...Object.getOwnPropertyNames(Object.prototype), 'prototype']);
export function prototypeKeysIn(value: unknown): string[] {
  const found: string[] = [];
  const stack: [unknown, string][] = [[value, '']];
  while (stack.length > 0) {
    const [node, path] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    for (const [key, child] of Object.entries(node)) {
      const at = path ? `${path}.${key}` : key;
      if (PROTOTYPE_NAMES.has(key)) found.push(at);
      else stack.push([child, at]);
    }
  }
  return found;
}

// A loosely specified JSON body (a protocol's own schema) as safe to walk as a DTO's, field by
// field: no field nested deeper than MAX_JSON_DEPTH, no prototype-named key at any depth, all
// text storable. Each problem names the field (or the path to the key).
export function screenLooseJson(value: unknown): FieldError[] {
  if (!isPlainObject(value)) return [];
  const errors: FieldError[] = [];
  for (const [field, child] of Object.entries(value)) {
    const refuse = (message: string) => errors.push({ field, messages: [`${field} ${message}`] });
    if (PROTOTYPE_NAMES.has(field)) refuse('should not exist');
    else if (depthOf(child, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
      refuse(`is nested deeper than ${MAX_JSON_DEPTH} levels`);
    } else {
      for (const path of prototypeKeysIn(child)) {
        errors.push({ field: `${field}.${path}`, messages: [`${field}.${path} should not exist`] });
      }
      if (!storableJson(child)) refuse(UNSTORABLE);
    }
  }
  return errors;
}

// The refusal of a body or payload nested deeper than MAX_BODY_DEPTH, naming it as the channel
// does; undefined when it is not. Walked with a stack of its own, no further than the limit.
export function nestingError(value: unknown, name: 'body' | 'payload'): DomainError | undefined {
  if (depthOf(value, MAX_BODY_DEPTH) <= MAX_BODY_DEPTH) return undefined;
  return DomainError.validation([
    { field: name, messages: [`${name} is nested deeper than ${MAX_BODY_DEPTH} levels`] },
  ]);
}

function isPlainObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const pipe = new StrictValidationPipe();

// The WebSocket twin of the REST pipe: the same pipe, the same DTO classes, the same error shape.
export async function validatePayload<T extends object>(
  dto: new () => T,
  payload: unknown,
): Promise<T> {
  if (payload === undefined || payload === null) payload = {};
  // Bounded before the pipe walks it, as REST bodies are when they arrive (configureApp).
  const deep = nestingError(payload, 'payload');
  if (deep) throw deep;
  if (typeof payload !== 'object' || Array.isArray(payload)) {
    throw DomainError.validation([{ field: 'payload', messages: ['payload must be an object'] }]);
  }
  return (await pipe.transform(payload, { type: 'body', metatype: dto })) as T;
}
