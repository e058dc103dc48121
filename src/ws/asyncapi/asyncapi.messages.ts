import { Type } from '@nestjs/common';
import { getSchemaPath } from '@nestjs/swagger';
import { RUN_EVENT_TYPES, RunEvent } from '../../runs/run-event';
import { RUN_EVENT_DATA } from '../../runs/run-event-data';
import { eventSchemaName } from '../../runs/run-event-data';
import { exampleOf, JsonSchema, refName } from './asyncapi.schemas';
import { ErrorFrameView } from './ws-frame.views';
import { OperationDoc } from './ws-operation.docs';

// The messages of the document: one per client frame type, one per ack, and pong, error and
// agent_update. A message's payload is the whole frame, `{ type, payload, request_id }`.

const schemaRef = (model: Type<unknown>) => ({ $ref: getSchemaPath(model) });
const REQUEST_ID = {
  type: ['string', 'number'],
  maxLength: 100,
  description: 'Your id for the request (a string of at most 100 characters, or a number)',
  examples: ['r1'],
};

export function clientMessage(
  type: string,
  doc: OperationDoc,
  dto: Type<unknown> | undefined,
  schemas: Record<string, JsonSchema>,
): JsonSchema {
  const payloadSchema = dto
    ? schemaRef(dto)
    : { type: 'object', maxProperties: 0, description: 'None: leave it out (or send {})' };
  // A payload is required when its DTO has a required field; otherwise it may be left out.
  const required = dto ? ((schemas[refName(getSchemaPath(dto))].required ?? []) as string[]) : [];
  const frame = {
    type: 'object',
    additionalProperties: false,
    required: required.length > 0 ? ['type', 'payload'] : ['type'],
    properties: {
      type: {
        type: 'string',
        const: type,
        description: `Case-insensitive (${type.toUpperCase()} works too)`,
      },
      payload: payloadSchema,
      request_id: REQUEST_ID,
    },
  };
  return {
    name: type,
    title: type,
    summary: doc.summary,
    correlationId: { $ref: '#/components/correlationIds/request_id' },
    payload: frame,
    examples: dto
      ? payloadExamples(type, payloadSchema, required, schemas)
      : [{ name: type, payload: { type, request_id: 'r1' } }],
  };
}

// The required fields alone, ready to send, then every field the DTO has an example of.
function payloadExamples(
  type: string,
  payloadSchema: JsonSchema,
  required: string[],
  schemas: Record<string, JsonSchema>,
): JsonSchema[] {
  const full = exampleOf(payloadSchema, schemas) as JsonSchema;
  const minimal = Object.fromEntries(Object.entries(full).filter(([k]) => required.includes(k)));
  const frame = (payload: JsonSchema) => ({ type, request_id: 'r1', payload });
  if (required.length === 0 || Object.keys(minimal).length === Object.keys(full).length)
    return [{ name: type, payload: frame(full) }];
  return [
    { name: type, summary: 'The required fields', payload: frame(minimal) },
    { name: `${type}_in_full`, summary: 'With the optional fields too', payload: frame(full) },
  ];
}

export function serverMessage(type: string, summary: string, payload: JsonSchema): JsonSchema {
  return {
    name: type,
    title: type,
    summary,
    correlationId: { $ref: '#/components/correlationIds/request_id' },
    payload: {
      type: 'object',
      required: ['type', 'payload'],
      properties: { type: { type: 'string', const: type }, request_id: REQUEST_ID, payload },
    },
    examples: [{ name: type, payload: { type, request_id: 'r1', payload: {} } }],
  };
}

export function ackMessage(
  type: string,
  ack: Type<unknown> | [Type<unknown>],
  schemas: Record<string, JsonSchema>,
): JsonSchema {
  const payload = Array.isArray(ack) ? { type: 'array', items: schemaRef(ack[0]) } : schemaRef(ack);
  return {
    ...serverMessage('ack', `The answer to ${type}: what its REST twin returns`, payload),
    name: `${type}_ack`,
    title: `${type} ack`,
    examples: [
      {
        name: `${type}_ack`,
        payload: { type: 'ack', request_id: 'r1', payload: exampleOf(payload, schemas) },
      },
    ],
  };
}

export function errorMessage(): JsonSchema {
  const base = serverMessage(
    'error',
    'A request failed (then request_id is its own), or something not tied to one did',
    schemaRef(ErrorFrameView),
  );
  const correlation = { request_id: '5b8e3c1a-9f2d-4e7b-8a6c-1d3f5e7a9b0c' };
  const error = (name: string, requestId: string | undefined, payload: JsonSchema) => ({
    name,
    payload: { type: 'error', ...(requestId ? { request_id: requestId } : {}), payload },
  });
  const examples = [
    error('validation_failed', 'r1', {
      code: 'validation_failed',
      message: 'query should not be empty',
      errors: [{ field: 'query', messages: ['query should not be empty'] }],
      ...correlation,
    }),
    error('rate_limited', 'r2', {
      code: 'rate_limited',
      message: 'Too many frames; try again in 12 s',
      retry_after_ms: 12000,
      ...correlation,
    }),
    error('not_found', 'r3', {
      code: 'not_found',
      message: 'run 3f0c5a8e-1d2b-4c6f-9a7e-2b4d6f8a0c1e not found',
      ...correlation,
    }),
    error('token_expired', undefined, {
      code: 'unauthorized',
      message: 'The bearer token has expired; reconnect',
    }),
  ];
  return { ...base, examples };
}

export function updateMessage(schemas: Record<string, JsonSchema>): JsonSchema {
  const payload = schemaRef(RunEvent);
  return {
    name: 'agent_update',
    title: 'agent_update',
    summary: 'An event of a run the socket follows',
    payload: {
      type: 'object',
      required: ['type', 'payload'],
      properties: { type: { type: 'string', const: 'agent_update' }, payload },
    },
    examples: RUN_EVENT_TYPES.map((type, index) => {
      const event = exampleOf({ $ref: `#/components/schemas/${eventSchemaName(type)}` }, schemas);
      return {
        name: type,
        summary: RUN_EVENT_DATA[type].description,
        payload: { type: 'agent_update', payload: { ...(event as JsonSchema), seq: index + 1 } },
      };
    }),
  };
}
