import { applyDecorators, createParamDecorator, ExecutionContext } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, Matches } from 'class-validator';
import type { Request } from 'express';
import { DomainError } from '../common/domain.error';

// Visible ASCII (no spaces), 1 to 255 characters: a UUID or any other key a client makes up.
const KEY = /^[\x21-\x7e]{1,255}$/;
const RULE = 'must be 1 to 255 visible ASCII characters (no spaces)';

export const IDEMPOTENCY_HEADER = 'Idempotency-Key';

// The Idempotency-Key header of a REST request, checked; undefined when absent.
export const IdempotencyKey = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): string | undefined => {
    const value = ctx.switchToHttp().getRequest<Request>().headers['idempotency-key'];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || !KEY.test(value)) {
      throw DomainError.validation([
        { field: IDEMPOTENCY_HEADER, messages: [`${IDEMPOTENCY_HEADER} ${RULE}`] },
      ]);
    }
    return value;
  },
);

// The same key in a WebSocket payload: `idempotency_key`.
export function IdempotencyKeyField(): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({
      description:
        'Sending the same key again (with the same request) returns the first answer instead ' +
        'of doing it twice; the REST twin is the Idempotency-Key header',
      maxLength: 255,
      example: '0b6e2a52-3f4b-4c8e-9d3a-5c1f2e7a9b10',
    }),
    IsOptional(),
    Matches(KEY, { message: `idempotency_key ${RULE}` }),
  );
}
