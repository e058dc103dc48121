import { DynamicModule, Module, RequestMethod } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { LoggerModule, PinoLogger } from 'nestjs-pino';
import type { Options as PinoHttpOptions } from 'pino-http';
import pretty from 'pino-pretty';
import { randomUUID } from 'node:crypto';
import { requestIdOf } from './common/request-id';
import { DataSource, DataSourceOptions } from 'typeorm';
import { dataSourceOptions } from '../ormconfig';
import { AgUiModule } from './ag-ui/ag-ui.module';
import { WorkerModule } from './agents/worker.module';
import { AuthModule } from './auth/auth.module';
import { JwtAuthGuard } from './auth/jwt-auth.guard';
import { HttpErrorFilter } from './common/http-error.filter';
import { StrictValidationPipe } from './common/validation';
import { AppRole, EnvironmentVariables, validateEnv } from './config/env.validation';
import { ContextModule } from './context/context.module';
import { migrateUnderLock } from './database/migrate';
import { HealthModule } from './health/health.module';
import { useLogContexts } from './logging/log-context';
import { redactUrl } from './logging/redact';
import { LimitsModule } from './limits/limits.module';
import { RateLimitGuard } from './limits/rate-limit.guard';
import { LifecycleModule } from './health/lifecycle';
import { RestModule } from './rest/rest.module';
import { ThreadSearchModule } from './thread-search/thread-search.module';
import { WebModule, WebOptions } from './web/web.module';
import { WsModule } from './ws/ws.module';
import { MetricsModule } from './metrics/metrics.module';
import { McpModule } from './mcp/mcp.module';
import { LgModule } from './lg/lg.module';

type Config = ConfigService<EnvironmentVariables, true>;

// How long a request waits for a database connection before it is told 503 (the database is
// away), instead of hanging.
const CONNECT_TIMEOUT_MS = 2_000;
// No query of the app takes long; one that does is stuck.
const STATEMENT_TIMEOUT_MS = 10_000;

// forRoot(), not a static @Module: the environment is validated when the app is built (after
// prepareRuntime filled in the embedded defaults, or after a test chose its database), not on
// import. The role decides which parts the instance runs: the channels, the worker, or both.
function prettyStream() {
  return pretty({
    singleLine: true,
    sync: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,req,res,context,responseTime',
    messageFormat: '{if context}[{context}] {end}{msg}',
  });
}

// pretty in development, json elsewhere, unless LOG_FORMAT says.
function logFormat(config: Config): 'pretty' | 'json' {
  const format = config.get('LOG_FORMAT', { infer: true });
  if (format) return format;
  return config.get('NODE_ENV', { infer: true }) === 'development' ? 'pretty' : 'json';
}

@Module({})
export class AppModule {
  static forRoot(
    role: AppRole = validateEnv(process.env).APP_ROLE,
    web: WebOptions = {},
  ): DynamicModule {
    const serves = role !== 'worker';
    const executes = role !== 'api';
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot({ isGlobal: true, validate: validateEnv, ignoreEnvFile: true }),
        LoggerModule.forRootAsync({
          inject: [ConfigService],
          useFactory: (config: Config) => {
            const options: PinoHttpOptions = {
              level: config.get('LOG_LEVEL', { infer: true }),
              // The id configureApp gave the request before anything else ran.
              genReqId: (req) => requestIdOf(req) || randomUUID(),
              // request_id on every line of the request; method, URL, status only on its last.
              quietReqLogger: true,
              customAttributeKeys: { reqId: 'request_id' },
              // No credential reaches a log line: no headers at all, and the URL redacted (the
              // query and the path parameters are in it: logged once, redacted there).
              serializers: {
                req: (req: { method?: string; url?: string }) => ({
                  method: req.method,
                  url: redactUrl(req.url),
                }),
                res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
              },
              customSuccessMessage: (req, res, ms) =>
                `${req.method} ${redactUrl(req.url)} ${res.statusCode} ${ms} ms`,
              customErrorMessage: (req, res) =>
                `${req.method} ${redactUrl(req.url)} ${res.statusCode} failed`,
            };
            return {
              // Express 5 path syntax; the default '*' makes Nest print a legacy-route warning.
              forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
              // Fields added to a request's lines (its user) go on its closing line too.
              assignResponse: true,
              // One readable line per entry for a person at a terminal; JSON for log collectors.
              // Pretty-printed in this thread, synchronously, so what main.ts prints after the
              // start-up lines comes after them.
              pinoHttp: logFormat(config) === 'pretty' ? [options, prettyStream()] : options,
            };
          },
        }),
        TypeOrmModule.forRootAsync({
          inject: [ConfigService],
          useFactory: (config: Config) => ({
            ...dataSourceOptions(config.get('DATABASE_URL', { infer: true })),
            extra: {
              max: config.get('DB_POOL_SIZE', { infer: true }),
              connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
              keepAlive: true,
              // A database that stops answering without closing (a partition) fails a query in
              // bounded time (503) instead of holding the request forever.
              statement_timeout: STATEMENT_TIMEOUT_MS,
              query_timeout: STATEMENT_TIMEOUT_MS + 2_000,
            },
          }),
          // Migrations under an advisory lock, before anything gets the data source: instances
          // starting together take turns instead of racing.
          dataSourceFactory: async (options?: DataSourceOptions) => {
            await migrateUnderLock(options!);
            return new DataSource(options!).initialize();
          },
        }),
        LifecycleModule,
        ContextModule,
        AuthModule,
        LimitsModule,
        HealthModule,
        MetricsModule,
        ...(serves
          ? [RestModule, WsModule, AgUiModule, LgModule, McpModule, WebModule.forRoot(web)]
          : []),
        ...(executes ? [WorkerModule] : []),
        ThreadSearchModule,
      ],
      providers: [
        { provide: APP_PIPE, useClass: StrictValidationPipe },
        { provide: APP_FILTER, useClass: HttpErrorFilter },
        // In this order: the user is known when their rate is counted.
        { provide: APP_GUARD, useClass: JwtAuthGuard },
        { provide: APP_GUARD, useClass: RateLimitGuard },
        // What addLogFields() and withLogContext() log through (see log-context.ts).
        { provide: 'LOG_CONTEXTS', inject: [PinoLogger], useFactory: useLogContexts },
      ],
    };
  }
}
