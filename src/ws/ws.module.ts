import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { LimitsModule } from '../limits/limits.module';
import { MessagingModule } from '../messaging/messaging.module';
import { AgentGateway } from './agent.gateway';
import { WsConnections } from './ws-connections';
import { WsHandshake } from './ws-handshake';
import { WsSessions } from './ws-sessions';

// The WebSocket channel: a gateway over the same shared services as the REST channel.
@Module({
  imports: [MessagingModule, AuthModule, LimitsModule],
  providers: [AgentGateway, WsConnections, WsHandshake, WsSessions],
})
export class WsModule {}
