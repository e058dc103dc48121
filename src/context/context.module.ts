import { Global, Module, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ContextIdFactory } from '@nestjs/core';
import { EnvironmentVariables } from '../config/env.validation';
import { UserContext } from './user-context';
import { UserContextStrategy } from './user-context.strategy';

// The user context of the shared services: UserContext, request-scoped and durable, and the
// strategy that gives each verified user one subtree of the services that take it. Nest keeps one
// strategy per process (ContextIdFactory.apply); the last app to start sets it.
@Global()
@Module({
  providers: [
    UserContext,
    {
      provide: UserContextStrategy,
      inject: [ConfigService],
      useFactory: (config: ConfigService<EnvironmentVariables, true>) =>
        new UserContextStrategy(config.get('USER_CONTEXTS_MAX', { infer: true })),
    },
  ],
  exports: [UserContext, UserContextStrategy],
})
export class ContextModule implements OnModuleInit {
  constructor(private readonly strategy: UserContextStrategy) {}

  onModuleInit(): void {
    ContextIdFactory.apply(this.strategy);
  }
}
