import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Message } from './message.entity';
import { Thread } from './thread.entity';
import { ThreadService } from './thread.service';
import { ThreadStore } from './thread.store';

@Module({
  imports: [TypeOrmModule.forFeature([Thread, Message])],
  providers: [ThreadStore, ThreadService],
  exports: [ThreadStore, ThreadService],
})
export class ThreadsModule {}
