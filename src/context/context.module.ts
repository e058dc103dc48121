import { Global, MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { ClsMiddleware, ClsModule } from 'nestjs-cls';
import type { Request } from 'express';
import { requestIdOf } from '../common/request-id';
import { CARRIER, ContextCarrier, UserContext } from './user-context';

// Every HTTP request enters its own context (the middleware, before guards), its carrier holding
// the request id, and the user once the auth guard has signed the request in; other channels enter
// theirs with UserContext.runAs().
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
        // A small carrier, not the request: timers armed while the request is handled (the
        // socket's keep-alive timeout, the pool's idle-client timeout) keep the context for
        // seconds, and with the request in it every request's whole object graph outlived the
        // request, was promoted to the old generation, and made each scavenge copy megabytes.
        setup: (cls, req: Request) => cls.set<ContextCarrier>(CARRIER, { id: requestIdOf(req) }),
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
