import { INestApplication } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import type { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import { randomUUID } from 'node:crypto';
import { Logger } from 'nestjs-pino';
import { OriginPolicy } from './auth/origins';
import { DomainError } from './common/domain.error';
import { toErrorPayload } from './common/error-response';
import { requestIdOf } from './common/request-id';
import { MAX_BODY_BYTES, MAX_QUERY_BYTES } from './common/limits';
import { nestingError } from './common/validation';
import { EnvironmentVariables } from './config/env.validation';
import { AG_UI_ROUTES } from './ag-ui/ag-ui.module';
import { MCP_ROUTES } from './mcp/mcp.module';
import { LG_ROUTES } from './lg/lg.controller';
import { UNPREFIXED_HEALTH_ROUTES } from './health/health.module';
import { createOpenApiDocument } from './rest/openapi.document';
import { setupAsyncApi } from './ws/asyncapi/asyncapi.setup';
import { GatewayWsAdapter } from './ws/ws.adapter';
import { observeHttp } from './metrics/http-observer';

export const API_PREFIX = 'api';

// Everything about the app that is not a provider, shared by main.ts and the tests.
export function configureApp(app: INestApplication): INestApplication {
  const config = app.get(ConfigService<EnvironmentVariables, true>);
  app.useLogger(app.get(Logger));
  // Every request has its correlation id from the start: answers made before the logger runs (a
  // body over the limit, a query string too long) carry it too.
  app.use(assignRequestId);
  app.use(observeHttp);
  // Security headers on every answer (HSTS, no sniffing, no framing, a strict CSP). Not
  // upgrade-insecure-requests: the app also serves plain HTTP (development, behind a proxy).
  app.use(
    helmet({
      contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
    }),
  );
  // REST from browsers on other sites: only the origins the configuration lists.
  const origins = app.get(OriginPolicy);
  app.enableCors({
    origin: (origin: string | undefined, done: (err: null, allow: boolean) => void) =>
      done(null, origins.listed(origin)),
    // The protocol channels' own headers too: MCP's session and version, the Agent Protocol's run
    // location (the LangGraph SDK reads it to name the run and to reconnect).
    allowedHeaders: [
      'Authorization',
      'Content-Type',
      'Idempotency-Key',
      'Last-Event-ID',
      'Mcp-Session-Id',
      'Mcp-Protocol-Version',
    ],
    exposedHeaders: [
      'X-Run-Id',
      'X-Thread-Id',
      'Retry-After',
      'X-Request-Id',
      'Mcp-Session-Id',
      'Content-Location',
      'Location',
    ],
    maxAge: 600,
  });
  app.use(boundedQuery);
  (app as NestExpressApplication).useBodyParser('json', { limit: MAX_BODY_BYTES });
  app.use(boundedNesting);
  app.useWebSocketAdapter(new GatewayWsAdapter(app));
  // Where orchestrators and scrapers look: /health/live, /health/ready, /metrics.
  app.setGlobalPrefix(API_PREFIX, {
    exclude: [...UNPREFIXED_HEALTH_ROUTES, 'metrics', ...AG_UI_ROUTES, ...MCP_ROUTES, ...LG_ROUTES],
  });
  if (config.get('DOCS_ENABLED', { infer: true }) === 'true') {
    // The WebSocket's AsyncAPI document: /docs/ws (a page) and /docs/ws-json.
    setupAsyncApi(app, 'docs/ws');
    SwaggerModule.setup('docs', app, () => createOpenApiDocument(app), {
      jsonDocumentUrl: 'docs-json',
    });
  }
  return app;
}

function assignRequestId(req: Request & { id?: unknown }, _res: Response, next: NextFunction) {
  const given = req.headers['x-request-id'];
  req.id = typeof given === 'string' && /^[\w-]{1,100}$/.test(given) ? given : randomUUID();
  next();
}

// A query string no route needs is refused before anything parses it.
function boundedQuery(req: Request, res: Response, next: NextFunction): void {
  const query = req.originalUrl.indexOf('?');
  if (query < 0 || req.originalUrl.length - query <= MAX_QUERY_BYTES) return next();
  const error = new DomainError(
    'uri_too_long',
    `the query string is longer than ${MAX_QUERY_BYTES} bytes`,
  );
  refuse(req, res, error);
}

// A JSON body nested deeper than MAX_BODY_DEPTH is refused as soon as it is parsed, on every route
// (the REST API, AG-UI, the Agent Protocol, MCP), before a pipe, a guard or a protocol's own parser
// walks it: 400 naming the problem, where it was a stack overflow (500) in the validation pipe.
function boundedNesting(req: Request, res: Response, next: NextFunction): void {
  const error = nestingError(req.body, 'body');
  if (!error) return next();
  refuse(req, res, error);
}

function refuse(req: Request, res: Response, error: DomainError): void {
  const { status, payload } = toErrorPayload(error, requestIdOf(req));
  res.status(status).json({ statusCode: status, ...payload });
}
