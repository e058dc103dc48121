import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { MessagingModule } from '../messaging/messaging.module';
import { AgentGateway } from './agent.gateway';

// The WebSocket channel: a gateway over the same shared services as the REST channel.
@Module({
  imports: [MessagingModule, AuthModule],
  providers: [AgentGateway],
})
export class WsModule {}
