import { INestApplication } from '@nestjs/common';
import { NestExpressApplication } from '@nestjs/platform-express';
import { WsAdapter } from '@nestjs/platform-ws';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { MAX_BODY_BYTES } from './common/limits';
import { UNPREFIXED_HEALTH_ROUTES } from './health/health.module';

export const API_PREFIX = 'api';

// Everything about the app that is not a provider, shared by main.ts and the tests.
export function configureApp(app: INestApplication): INestApplication {
  app.useLogger(app.get(Logger));
  // The same size limit as a WebSocket frame.
  (app as NestExpressApplication).useBodyParser('json', { limit: MAX_BODY_BYTES });
  app.useWebSocketAdapter(new WsAdapter(app));
  app.setGlobalPrefix(API_PREFIX, { exclude: UNPREFIXED_HEALTH_ROUTES });
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, openApiConfig()), {
    jsonDocumentUrl: 'docs-json',
  });
  return app;
}

export function openApiConfig() {
  return new DocumentBuilder()
    .setTitle('netra-backend')
    .setDescription(
      'Dual-channel agent backend. REST (this document) and the WebSocket at /ws reach the same ' +
        'services: start a run, follow its events (JSON, SSE or WebSocket), cancel it, manage threads.',
    )
    .setVersion('0.1.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
    .build();
}
