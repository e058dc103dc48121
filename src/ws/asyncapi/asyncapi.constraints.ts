import { Type } from '@nestjs/common';
import {
  getMetadataStorage,
  IS_IN,
  IS_INT,
  IS_NOT_EMPTY,
  IS_STRING,
  MATCHES,
  MAX,
  MAX_LENGTH,
  MIN,
  MIN_LENGTH,
} from 'class-validator';
import { JsonSchema } from './asyncapi.schemas';

// What class-validator checks of a payload DTO, as JSON Schema keywords on its properties: the
// @ApiProperty text says what a field is for, the validators what the gateway accepts (an @IsInt
// `after` that swagger calls a number, the @MaxLength of an id no @ApiProperty repeats). Rules
// with no JSON Schema twin (custom ones, FreeJsonObject's bounds, IsISO8601, looser than
// date-time) are left to the gateway's error.
const KEYWORDS: Record<string, (constraints: unknown[]) => JsonSchema> = {
  [IS_INT]: () => ({ type: 'integer' }),
  [IS_STRING]: () => ({ type: 'string' }),
  [IS_NOT_EMPTY]: () => ({ minLength: 1 }),
  [MIN_LENGTH]: ([min]) => ({ minLength: min }),
  [MAX_LENGTH]: ([max]) => ({ maxLength: max }),
  [MIN]: ([min]) => ({ minimum: min }),
  [MAX]: ([max]) => ({ maximum: max }),
  [IS_IN]: ([values]) => ({ enum: values }),
  [MATCHES]: ([pattern]) => ({ pattern: pattern instanceof RegExp ? pattern.source : pattern }),
};

// The DTO's schema with its validators' keywords added, closed to other fields as the gateway's
// forbidNonWhitelisted is.
export function withConstraints(schema: JsonSchema, dto: Type<unknown>): JsonSchema {
  const properties = { ...((schema.properties ?? {}) as Record<string, JsonSchema>) };
  const rules = getMetadataStorage().getTargetValidationMetadatas(dto, '', true, false);
  for (const rule of rules) {
    const keywords = rule.name ? KEYWORDS[rule.name] : undefined;
    const property = properties[rule.propertyName];
    if (!keywords || !property || rule.each) continue;
    properties[rule.propertyName] = { ...property, ...keywords(rule.constraints ?? []) };
  }
  return { ...schema, properties, additionalProperties: false };
}
