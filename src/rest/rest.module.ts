import { Module } from '@nestjs/common';
import { MessagingModule } from '../messaging/messaging.module';
import { AgentController } from './agent.controller';
import { SseModule } from '../sse/sse.module';
import { StreamTicketsController } from './stream-tickets.controller';
import { ThreadsController } from './threads.controller';
import { UsageController } from './usage.controller';
import { WebhooksController } from './webhooks.controller';

// The REST channel: thin controllers over the shared services.
@Module({
  imports: [MessagingModule, SseModule],
  controllers: [
    AgentController,
    ThreadsController,
    StreamTicketsController,
    UsageController,
    WebhooksController,
  ],
})
export class RestModule {}
