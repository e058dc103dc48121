import { DomainError } from '../common/domain.error';
import { resumePoint } from './sse.writer';

function rejectionOf(after: number | undefined, lastEventId: string): DomainError {
  try {
    resumePoint(after, lastEventId);
  } catch (err) {
    if (err instanceof DomainError) return err;
    throw err;
  }
  throw new Error(`resumePoint accepted Last-Event-ID ${JSON.stringify(lastEventId)}`);
}

describe('resumePoint', () => {
  it.each([
    [undefined, undefined, 0],
    [5, undefined, 5],
    [5, '', 5],
  ])('uses after=%p when Last-Event-ID is %p', (after, lastEventId, expected) => {
    expect(resumePoint(after, lastEventId)).toBe(expected);
  });

  it.each([
    [5, '7', 7],
    [9, '2', 2],
    [5, '0', 0],
    [undefined, ' 12 ', 12],
  ])('lets Last-Event-ID win over after=%p: %p', (after, lastEventId, expected) => {
    expect(resumePoint(after, lastEventId)).toBe(expected);
  });

  it.each(['abc', '-1', '1.5', '1234567890', '   '])(
    'rejects Last-Event-ID %j as a validation error naming the header',
    (lastEventId) => {
      const error = rejectionOf(3, lastEventId);

      expect(error.code).toBe('validation_failed');
      expect(error.details?.errors).toEqual([
        { field: 'Last-Event-ID', messages: ['Last-Event-ID must be a non-negative integer'] },
      ]);
    },
  );
});
