import { DynamicModule, Module, RequestMethod, ValidationPipe } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { LoggerModule } from 'nestjs-pino';
import { randomUUID } from 'node:crypto';
import { dataSourceOptions } from '../ormconfig';
import { AuthModule } from './auth/auth.module';
import { JwtAuthGuard } from './auth/jwt-auth.guard';
import { HttpErrorFilter } from './common/http-error.filter';
import { validationPipeOptions } from './common/validation';
import { EnvironmentVariables, validateEnv } from './config/env.validation';
import { ContextModule } from './context/context.module';
import { RestModule } from './rest/rest.module';
import { ThreadSearchModule } from './thread-search/thread-search.module';
import { WsModule } from './ws/ws.module';

type Config = ConfigService<EnvironmentVariables, true>;

// forRoot(), not a static @Module: the environment is validated when the app is built (after
// prepareRuntime filled in the embedded defaults, or after a test chose its database), not on import.
@Module({})
export class AppModule {
  static forRoot(): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot({ isGlobal: true, validate: validateEnv, ignoreEnvFile: true }),
        LoggerModule.forRootAsync({
          inject: [ConfigService],
          useFactory: (config: Config) => ({
            // Express 5 path syntax; the default '*' makes Nest print a legacy-route warning.
            forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
            pinoHttp: {
              level: config.get('LOG_LEVEL', { infer: true }),
              genReqId: (req) =>
                (req.headers['x-request-id'] as string | undefined) ?? randomUUID(),
              redact: ['req.headers.authorization', 'req.query.token'],
            },
          }),
        }),
        TypeOrmModule.forRootAsync({
          inject: [ConfigService],
          useFactory: (config: Config) => ({
            ...dataSourceOptions(config.get('DATABASE_URL', { infer: true })),
            migrationsRun: true,
          }),
        }),
        ContextModule,
        AuthModule,
        RestModule,
        WsModule,
        ThreadSearchModule,
      ],
      providers: [
        { provide: APP_PIPE, useValue: new ValidationPipe(validationPipeOptions) },
        { provide: APP_FILTER, useClass: HttpErrorFilter },
        { provide: APP_GUARD, useClass: JwtAuthGuard },
      ],
    };
  }
}
