import { INestApplication, Type } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

export type JsonSchema = Record<string, unknown>;

// Scans no module: the throwaway document below holds only the models it is given.
class NoModule {}

// The JSON Schema of each class, and of every class it refers to, by name: made by @nestjs/swagger
// from the same @ApiProperty metadata as /docs-json (nested types, arrays, enums, inherited
// properties), through its public API: createDocument with `extraModels`, in a throwaway document
// that scans no module. Its SchemaObjectFactory would do without the app, but it is not exported
// (a dist/ path that may move in any release). What class-validator checks is added after
// (asyncapi.constraints.ts).
export function schemasOf(
  app: INestApplication,
  classes: Type<unknown>[],
): Record<string, JsonSchema> {
  const document = SwaggerModule.createDocument(app, new DocumentBuilder().build(), {
    include: [NoModule],
    extraModels: classes,
  });
  const schemas = (document.components?.schemas ?? {}) as Record<string, JsonSchema>;
  return Object.fromEntries(
    Object.entries(schemas).map(([name, schema]) => [name, toJsonSchema(schema)]),
  );
}

const SCHEMA_MAPS = ['properties', 'patternProperties'];
const SCHEMA_LISTS = ['allOf', 'oneOf', 'anyOf'];
const SCHEMA_VALUES = ['items', 'additionalProperties', 'not'];

// OpenAPI 3.0 schemas (what @nestjs/swagger makes) as AsyncAPI schemas, which are JSON Schema
// draft 07: `nullable` becomes a null type, `example` becomes `examples`, and a boolean
// exclusiveMinimum/Maximum a number. The `$ref`s stay: both put schemas under #/components/schemas.
export function toJsonSchema(schema: JsonSchema): JsonSchema {
  // An OpenAPI discriminator object is not JSON Schema (a oneOf of consts says the same): dropped.
  const { nullable, example, discriminator, ...out } = schema;
  for (const key of SCHEMA_MAPS) {
    const map = out[key];
    if (isObject(map)) {
      out[key] = Object.fromEntries(
        Object.entries(map).map(([name, value]) => [name, toJsonSchema(value as JsonSchema)]),
      );
    }
  }
  for (const key of SCHEMA_LISTS) {
    const list = out[key];
    if (Array.isArray(list)) out[key] = list.map((s) => toJsonSchema(s as JsonSchema));
  }
  for (const key of SCHEMA_VALUES) if (isObject(out[key])) out[key] = toJsonSchema(out[key]);
  for (const [bound, limit] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    if (typeof out[bound] !== 'boolean') continue;
    if (out[bound]) out[bound] = out[limit];
    else delete out[bound];
    if (out[bound] !== undefined) delete out[limit];
  }
  if (example !== undefined) out.examples = [example];
  return nullable === true ? orNull(out) : out;
}

function orNull(schema: JsonSchema): JsonSchema {
  if (typeof schema.type === 'string') {
    const nullable: JsonSchema = { ...schema, type: [schema.type, 'null'] };
    if (Array.isArray(schema.enum)) nullable.enum = [...(schema.enum as unknown[]), null];
    return nullable;
  }
  // Annotations stay outside, on the choice.
  const { description, examples, ...rest } = schema;
  const choice: JsonSchema = { oneOf: [rest, { type: 'null' }] };
  if (description !== undefined) choice.description = description;
  if (examples !== undefined) choice.examples = examples;
  return choice;
}

// An example of a value of `schema`: its own example when it has one, else made of its parts'.
// An object gets its required properties and the optional ones that have an example, so the
// examples of the DTO decorators show up together, and every example fits its schema.
export function exampleOf(
  schema: JsonSchema,
  schemas: Record<string, JsonSchema>,
  depth = 0,
): unknown {
  if (Array.isArray(schema.examples) && schema.examples.length > 0) return schema.examples[0];
  if ('const' in schema) return schema.const;
  if (depth > 8) return undefined;
  const ref = schema.$ref;
  if (typeof ref === 'string') return exampleOf(schemas[refName(ref)] ?? {}, schemas, depth + 1);
  if (Array.isArray(schema.allOf)) {
    return Object.assign(
      {},
      ...schema.allOf.map((part) => exampleOf(part as JsonSchema, schemas, depth + 1)),
    ) as unknown;
  }
  const choices = (schema.oneOf ?? schema.anyOf) as JsonSchema[] | undefined;
  if (choices) {
    const first = choices.find((c) => c.type !== 'null') ?? choices[0];
    return exampleOf(first, schemas, depth + 1);
  }
  if (Array.isArray(schema.enum)) return schema.enum[0];
  if (schema.default !== undefined) return schema.default;
  const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type];
  // A field that may be null and has no example of its own: null says the most.
  if (types.includes('null')) return null;
  switch (types[0]) {
    case 'array':
      return [exampleOf((schema.items ?? {}) as JsonSchema, schemas, depth + 1)];
    case 'string':
      return stringExample(schema.format);
    case 'integer':
    case 'number':
      return typeof schema.minimum === 'number' ? schema.minimum : 0;
    case 'boolean':
      return false;
    default:
      return objectExample(schema, schemas, depth);
  }
}

function objectExample(schema: JsonSchema, schemas: Record<string, JsonSchema>, depth: number) {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = (schema.required ?? []) as string[];
  const example: Record<string, unknown> = {};
  for (const [name, property] of Object.entries(properties)) {
    if (!required.includes(name) && !hasExample(property)) continue;
    const value = exampleOf(property, schemas, depth + 1);
    if (value !== undefined) example[name] = value;
  }
  return example;
}

function hasExample(schema: JsonSchema): boolean {
  return Array.isArray(schema.examples) && schema.examples.length > 0;
}

function stringExample(format: unknown): string {
  if (format === 'uuid') return '3f0c5a8e-1d2b-4c6f-9a7e-2b4d6f8a0c1e';
  if (format === 'date-time') return '2026-11-25T18:00:00.000Z';
  return 'string';
}

export function refName(ref: string): string {
  return ref.slice(ref.lastIndexOf('/') + 1);
}

export function isObject(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
