import { getSchemaPath } from '@nestjs/swagger';
import { RunEvent } from '../../runs/run-event';
import { runEventSchemas } from '../../runs/run-event-data';
import { JsonSchema, refName, toJsonSchema } from './asyncapi.schemas';

// RunEvent as a oneOf on `type` (the same variants as the OpenAPI document), in JSON Schema.
export function eventSchemas(base: JsonSchema): Record<string, JsonSchema> {
  const { variants, runEvent } = runEventSchemas(base, {
    typeSchema: (type) => ({ type: 'string', const: type }),
    dataSchema: ({ schema, example }) => ({ ...toJsonSchema(schema), examples: [example] }),
    discriminator: () => 'type',
  });
  return { ...variants, [refName(getSchemaPath(RunEvent))]: runEvent };
}
