import { Global, Module } from '@nestjs/common';
import { ClsModule } from 'nestjs-cls';
import type { Request } from 'express';
import { CARRIER, UserContext } from './user-context';

// Every HTTP request enters its own context (the middleware, before guards), holding the request as
// the carrier; other channels enter theirs with UserContext.runAs().
@Global()
@Module({
  imports: [
    ClsModule.forRoot({
      middleware: {
        mount: true,
        saveReq: false,
        generateId: false,
        setup: (cls, req: Request) => cls.set(CARRIER, req),
      },
    }),
  ],
  providers: [UserContext],
  exports: [UserContext],
})
export class ContextModule {}
