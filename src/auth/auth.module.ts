import { MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { AuthenticateMiddleware } from './authenticate.middleware';
import { Authenticator } from './authenticator';
import { OriginPolicy } from './origins';
import { StreamTicketStore } from './stream-ticket.store';
import { TokenService } from './token.service';

@Module({
  providers: [TokenService, StreamTicketStore, Authenticator, OriginPolicy],
  exports: [TokenService, StreamTicketStore, Authenticator, OriginPolicy],
})
export class AuthModule implements NestModule {
  // Every route, those outside the global prefix (/ag-ui, /lg, /mcp) too.
  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply(AuthenticateMiddleware)
      .forRoutes({ path: '{*path}', method: RequestMethod.ALL });
  }
}
