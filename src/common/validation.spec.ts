import { ValidationError } from '@nestjs/common';
import { StartAgentDto } from '../runs/dto/start-agent.dto';
import { DomainError } from './domain.error';
import { flattenValidationErrors, validatePayload } from './validation';

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
