import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { RUN_EVENT_TYPES, RunEventType } from '../runs/run-event';
import { RUN_EVENT_DATA } from '../runs/run-event-data';

// The OpenAPI document of the REST channel, served at /docs-json and committed as openapi.json
// (`npm run openapi`). Made from the controllers' decorators, then completed with what decorators
// cannot say: RunEvent as one schema per event type.
export function createOpenApiDocument(app: INestApplication): OpenAPIObject {
  return withEventTypes(SwaggerModule.createDocument(app, openApiConfig()));
}

export function openApiConfig() {
  return new DocumentBuilder()
    .setTitle('netra-backend')
    .setDescription(
      'Dual-channel agent backend. REST (this document) and the WebSocket at /ws reach the same ' +
        'services: start a run, follow its events (JSON, SSE or WebSocket), cancel it, manage threads. ' +
        'The WebSocket is described by the AsyncAPI document at /docs/ws-json.',
    )
    .setVersion('0.1.0')
    .setLicense('MIT', 'https://opensource.org/licenses/MIT')
    .addServer('/', 'This server')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
    .build();
}

export function eventSchemaName(type: RunEventType): string {
  return `${type
    .split('_')
    .map((word) => word[0].toUpperCase() + word.slice(1))
    .join('')}Event`;
}

// RunEvent becomes a oneOf on `type`: each variant says what its `data` holds.
function withEventTypes(document: OpenAPIObject): OpenAPIObject {
  const schemas = (document.components ??= {}).schemas ?? {};
  const base = schemas.RunEvent as SchemaObject | undefined;
  if (!base?.properties) return document;
  const mapping: Record<string, string> = {};
  for (const type of RUN_EVENT_TYPES) {
    const name = eventSchemaName(type);
    const { description, schema, example } = RUN_EVENT_DATA[type];
    mapping[type] = `#/components/schemas/${name}`;
    schemas[name] = {
      type: 'object',
      description,
      properties: {
        ...base.properties,
        type: { type: 'string', enum: [type], example: type },
        data: { ...schema, example } as SchemaObject,
      },
      required: base.required,
    };
  }
  schemas.RunEvent = {
    description:
      'One event of a run, whichever way it travels (/events, SSE `data:`, WebSocket ' +
      '`agent_update`). `type` says which; `data` is typed per type.',
    oneOf: RUN_EVENT_TYPES.map((type) => ({ $ref: mapping[type] })),
    discriminator: { propertyName: 'type', mapping },
  };
  document.components.schemas = schemas;
  return document;
}
