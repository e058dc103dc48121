import { Global, MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { ClsMiddleware, ClsModule } from 'nestjs-cls';
import type { Request } from 'express';
import { CARRIER, UserContext } from './user-context';

// Every HTTP request enters its own context (the middleware, before guards), holding the request as
// the carrier; other channels enter theirs with UserContext.runAs().
@Global()
@Module({
  imports: [
    ClsModule.forRoot({
      middleware: {
        // Mounted below instead: nestjs-cls mounts at '/', which Nest puts under the global
        // prefix, so the routes outside /api (/ag-ui, ...) would have no context.
        mount: false,
        saveReq: false,
        generateId: false,
        setup: (cls, req: Request) => cls.set(CARRIER, req),
      },
    }),
  ],
  providers: [UserContext],
  exports: [UserContext],
})
export class ContextModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(ClsMiddleware).forRoutes({ path: '{*path}', method: RequestMethod.ALL });
  }
}
