import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { runEventSchemas } from '../runs/run-event-data';

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

// RunEvent becomes a oneOf on `type`: each variant says what its `data` holds.
function withEventTypes(document: OpenAPIObject): OpenAPIObject {
  const schemas = (document.components ??= {}).schemas ?? {};
  const base = schemas.RunEvent as SchemaObject | undefined;
  if (!base?.properties) return document;
  const { variants, runEvent } = runEventSchemas(base, {
    typeSchema: (type) => ({ type: 'string', enum: [type], example: type }),
    dataSchema: ({ schema, example }) => ({ ...schema, example }),
    discriminator: (mapping) => ({ propertyName: 'type', mapping }),
  });
  Object.assign(schemas, variants, { RunEvent: runEvent });
  document.components.schemas = schemas;
  return document;
}
