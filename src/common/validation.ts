import { ValidationError, ValidationPipeOptions } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { DomainError, FieldError } from './domain.error';

// One set of options for both channels: unknown properties are errors, strings become numbers where
// the DTO says so.
export const VALIDATION_OPTIONS = {
  whitelist: true,
  forbidNonWhitelisted: true,
  transform: true,
  transformOptions: { enableImplicitConversion: false },
} as const;

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

// The WebSocket twin of ValidationPipe: same DTO classes, same options, same error shape.
export async function validatePayload<T extends object>(
  dto: new () => T,
  payload: unknown,
): Promise<T> {
  if (payload === undefined || payload === null) payload = {};
  if (typeof payload !== 'object' || Array.isArray(payload)) {
    throw DomainError.validation([{ field: 'payload', messages: ['payload must be an object'] }]);
  }
  const instance = plainToInstance(dto, payload, VALIDATION_OPTIONS.transformOptions);
  const errors = await validate(instance, VALIDATION_OPTIONS);
  if (errors.length > 0) throw DomainError.validation(flattenValidationErrors(errors));
  return instance;
}
