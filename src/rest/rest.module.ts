import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { MessagingModule } from '../messaging/messaging.module';
import { AgentController } from './agent.controller';
import { HealthController } from './health.controller';
import { SseWriter } from './sse.writer';
import { ThreadsController } from './threads.controller';

// The REST channel: thin controllers over the shared services.
@Module({
  imports: [MessagingModule, TerminusModule],
  controllers: [AgentController, ThreadsController, HealthController],
  providers: [SseWriter],
})
export class RestModule {}
