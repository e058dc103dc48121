import { getSchemaPath } from '@nestjs/swagger';
import { RUN_EVENT_TYPES, RunEvent, RunEventType } from '../../runs/run-event';
import { RUN_EVENT_DATA } from '../../runs/run-event-data';
import { JsonSchema, refName, toJsonSchema } from './asyncapi.schemas';

export function eventSchemaName(type: RunEventType): string {
  const words = type.split('_').map((word) => word[0].toUpperCase() + word.slice(1));
  return `${words.join('')}Event`;
}

// RunEvent as a oneOf on `type`, one schema per event type with its `data` from RUN_EVENT_DATA;
// the other fields are RunEvent's own.
export function eventSchemas(base: JsonSchema): Record<string, JsonSchema> {
  const properties = base.properties as Record<string, JsonSchema>;
  const variants: Record<string, JsonSchema> = {};
  for (const type of RUN_EVENT_TYPES) {
    const { description, schema, example } = RUN_EVENT_DATA[type];
    variants[eventSchemaName(type)] = {
      type: 'object',
      description,
      required: base.required,
      properties: {
        ...properties,
        type: { type: 'string', const: type },
        data: { ...toJsonSchema(schema), examples: [example] },
      },
    };
  }
  return {
    ...variants,
    [refName(getSchemaPath(RunEvent))]: {
      description:
        'One event of a run, whichever way it travels (/events, SSE `data:`, WebSocket ' +
        '`agent_update`). `type` says which; `data` is typed per type.',
      oneOf: RUN_EVENT_TYPES.map((type) => ({
        $ref: `#/components/schemas/${eventSchemaName(type)}`,
      })),
    },
  };
}
