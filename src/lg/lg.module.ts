import { Module } from '@nestjs/common';
import { MessagingModule } from '../messaging/messaging.module';
import { SseModule } from '../sse/sse.module';
import { LgChannel } from './lg.channel';
import { LgController } from './lg.controller';

// The Agent Protocol channel (LangGraph SDK compatible) at /lg, over the shared services.
@Module({
  imports: [MessagingModule, SseModule],
  controllers: [LgController],
  providers: [LgChannel],
})
export class LgModule {}
