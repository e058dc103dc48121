import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ThrottlerModule } from '@nestjs/throttler';
import { EnvironmentVariables } from '../config/env.validation';
import { startsRun } from './rate-limit.guard';
import { RateLimitStorage } from './rate-limit.storage';

const MINUTE_MS = 60_000;

@Module({
  providers: [RateLimitStorage],
  exports: [RateLimitStorage],
})
class RateLimitStorageModule {}

// Rate limits with @nestjs/throttler: requests a minute per user on every route, and run starts a
// minute per user on the routes that start runs. The WebSocket counts against the same storage.
@Module({
  imports: [
    RateLimitStorageModule,
    ThrottlerModule.forRootAsync({
      imports: [RateLimitStorageModule],
      inject: [ConfigService, RateLimitStorage],
      useFactory: (
        config: ConfigService<EnvironmentVariables, true>,
        storage: RateLimitStorage,
      ) => ({
        storage,
        throttlers: [
          {
            name: 'requests',
            ttl: MINUTE_MS,
            limit: config.get('RATE_LIMIT_REQUESTS', { infer: true }),
          },
          {
            name: 'starts',
            ttl: MINUTE_MS,
            limit: config.get('RATE_LIMIT_RUN_STARTS', { infer: true }),
            skipIf: (context) => !startsRun(context),
          },
        ],
      }),
    }),
  ],
  exports: [RateLimitStorageModule, ThrottlerModule],
})
export class LimitsModule {}
