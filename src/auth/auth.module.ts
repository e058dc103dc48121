import { Module } from '@nestjs/common';
import { Authenticator } from './authenticator';
import { OriginPolicy } from './origins';
import { StreamTicketStore } from './stream-ticket.store';
import { TokenService } from './token.service';

@Module({
  providers: [TokenService, StreamTicketStore, Authenticator, OriginPolicy],
  exports: [TokenService, StreamTicketStore, Authenticator, OriginPolicy],
})
export class AuthModule {}
