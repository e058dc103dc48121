import { ValidationError } from '@nestjs/common';
import { EventsQueryDto } from '../runs/dto/run-ref.dto';
import { StartAgentDto } from '../runs/dto/start-agent.dto';
import { CreateThreadDto } from '../threads/dto/thread-fields.dto';
import { DomainError } from './domain.error';
import {
  flattenValidationErrors,
  MAX_BODY_DEPTH,
  MAX_JSON_DEPTH,
  nestingError,
  storableText,
  validatePayload,
} from './validation';

function startPayload(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { query: 'What is 2 + 2?', ...overrides };
}

// The DomainError validatePayload rejected with.
async function rejectionOf(payload: unknown): Promise<DomainError> {
  const error: unknown = await validatePayload(StartAgentDto, payload).then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(error instanceof DomainError))
    throw new Error(`expected a DomainError, got ${String(error)}`);
  return error;
}

function fieldsOf(error: DomainError): string[] {
  return (error.details?.errors ?? []).map((e) => e.field);
}

function validationError(
  property: string,
  constraints?: Record<string, string>,
  children: ValidationError[] = [],
): ValidationError {
  return { property, constraints, children };
}

describe('validatePayload', () => {
  it('returns a DTO instance for a valid payload', async () => {
    const dto = await validatePayload(
      StartAgentDto,
      startPayload({ id: 'run_1', thread_id: 't-1' }),
    );

    expect(dto).toBeInstanceOf(StartAgentDto);
    expect(dto).toMatchObject({ query: 'What is 2 + 2?', id: 'run_1', thread_id: 't-1' });
  });

  it('rejects an unknown property, naming it', async () => {
    const error = await rejectionOf(startPayload({ colour: 'red' }));

    expect(error.code).toBe('validation_failed');
    expect(error.details?.errors).toEqual([
      { field: 'colour', messages: ['property colour should not exist'] },
    ]);
  });

  it.each([
    ['missing', {}],
    ['null', null],
    ['undefined', undefined],
    ['empty', { query: '' }],
    ['not a string', { query: 42 }],
  ])('names query when it is %s', async (_case, payload) => {
    const error = await rejectionOf(payload);

    expect(error.code).toBe('validation_failed');
    expect(fieldsOf(error)).toEqual(['query']);
  });

  it('names every invalid field', async () => {
    const error = await rejectionOf({ id: 'has spaces', thread_id: '' });

    expect(fieldsOf(error).sort()).toEqual(['id', 'query', 'thread_id']);
  });

  it.each([
    ['a string', 'hello'],
    ['a number', 42],
    ['an array', [startPayload()]],
  ])('rejects %s as the payload', async (_case, payload) => {
    const error = await rejectionOf(payload);

    expect(error.code).toBe('validation_failed');
    expect(error.details?.errors).toEqual([
      { field: 'payload', messages: ['payload must be an object'] },
    ]);
  });
});

describe('what the database could not store as sent', () => {
  it.each([
    ['a NUL', 'a\u0000b'],
    ['a lone high surrogate', 'x\ud800'],
    ['a lone low surrogate', '\udfffy'],
  ])('refuses %s in a field, naming it', async (_case, text) => {
    const error = await rejectionOf(startPayload({ query: text }));
    expect(error.details?.errors).toEqual([
      {
        field: 'query',
        messages: ['query must not contain NUL characters or unpaired UTF-16 surrogates'],
      },
    ]);
  });

  it('refuses it in free JSON, in keys as in values', async () => {
    for (const metadata of [{ 'k\u0000': 1 }, { a: ['\ud800'] }]) {
      const error = await validatePayload(CreateThreadDto, { metadata }).catch(
        (e: DomainError) => e,
      );
      expect(error).toBeInstanceOf(DomainError);
      expect((error as DomainError).details?.errors?.[0].field).toBe('metadata');
    }
  });

  it('takes any well-formed text, emoji and all', () => {
    expect(storableText('héllo 😀 \u202e')).toBe(true);
    expect(storableText('\ud83d\ude00')).toBe(true);
    expect(storableText('\ude00\ud83d')).toBe(false);
  });
});

describe('null and numbers', () => {
  it('refuses null for an optional field instead of passing it on', async () => {
    const error = await rejectionOf(startPayload({ thread_id: null }));
    expect(error.details?.errors).toEqual([
      { field: 'thread_id', messages: ['thread_id must not be null; leave it out instead'] },
    ]);
  });

  it.each([
    ['digits', '12', 12],
    ['a number', 12, 12],
  ])('takes an integer as %s', async (_case, after, expected) => {
    await expect(validatePayload(EventsQueryDto, { after })).resolves.toMatchObject({
      after: expected,
    });
  });

  it.each([
    ['empty text', ''],
    ['hex', '0x10'],
    ['an exponent', '1e2'],
    ['padded', ' 7'],
    ['an object whose toString is not a function', { toString: 0 }],
    ['an array', ['1', '2']],
  ])('refuses %s as an integer, naming the field', async (_case, after) => {
    const error = await validatePayload(EventsQueryDto, { after }).catch((e: DomainError) => e);
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).details?.errors?.map((e) => e.field)).toEqual(['after']);
  });
});

describe('nesting', () => {
  // Parsed from text: JSON.parse does not recurse, so this test's stack is never the limit.
  const arrays = (depth: number): unknown => JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`);
  const objects = (depth: number): unknown =>
    JSON.parse(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);

  it.each([
    ['arrays', arrays],
    ['objects', objects],
  ])('refuses %s deeper than the limit, naming the body, however deep', (_kind, nested) => {
    expect(nestingError(nested(MAX_BODY_DEPTH), 'body')).toBeUndefined();
    for (const depth of [MAX_BODY_DEPTH + 1, 1_000, 10_000, 500_000]) {
      const error = nestingError(nested(depth), 'body');
      expect(error?.code).toBe('validation_failed');
      expect(error?.details?.errors).toEqual([
        { field: 'body', messages: [`body is nested deeper than ${MAX_BODY_DEPTH} levels`] },
      ]);
    }
  });

  it('refuses a deep frame payload, arrays or objects, before the pipe walks it', async () => {
    for (const payload of [arrays(10_000), objects(10_000), { query: arrays(100_000) }]) {
      const error = await rejectionOf(payload);
      expect(error.details?.errors).toEqual([
        { field: 'payload', messages: [`payload is nested deeper than ${MAX_BODY_DEPTH} levels`] },
      ]);
    }
  });

  it('still names the field of a payload within the limit', async () => {
    const error = await rejectionOf({ query: arrays(MAX_JSON_DEPTH + 1) });
    expect(error.details?.errors).toEqual([
      { field: 'query', messages: [`query is nested deeper than ${MAX_JSON_DEPTH} levels`] },
    ]);
  });
});

describe('flattenValidationErrors', () => {
  it('names nested fields by their path', () => {
    const errors = [
      validationError('query', { isString: 'query must be a string' }),
      validationError('options', undefined, [
        validationError('limit', { max: 'limit too big', isInt: 'limit must be an integer' }),
        validationError('filter', undefined, [validationError('kind', { isIn: 'bad kind' })]),
      ]),
    ];

    expect(flattenValidationErrors(errors)).toEqual([
      { field: 'query', messages: ['query must be a string'] },
      { field: 'options.limit', messages: ['limit too big', 'limit must be an integer'] },
      { field: 'options.filter.kind', messages: ['bad kind'] },
    ]);
  });

  it('keeps a parent that has constraints of its own', () => {
    const errors = [
      validationError('items', { arrayMaxSize: 'too many items' }, [
        validationError('0', { isString: 'must be a string' }),
      ]),
    ];

    expect(flattenValidationErrors(errors)).toEqual([
      { field: 'items', messages: ['too many items'] },
      { field: 'items.0', messages: ['must be a string'] },
    ]);
  });

  it('returns nothing for no errors', () => {
    expect(flattenValidationErrors([])).toEqual([]);
  });
});
