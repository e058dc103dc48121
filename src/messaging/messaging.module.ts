import { Module } from '@nestjs/common';
import { AgentsModule } from '../agents/agents.module';
import { ApprovalsModule } from '../approvals/approvals.module';
import { AuthModule } from '../auth/auth.module';
import { IdempotencyModule } from '../idempotency/idempotency.module';
import { RunsModule } from '../runs/runs.module';
import { ThreadsModule } from '../threads/threads.module';
import { UsageModule } from '../usage/usage.module';
import { WebhooksModule } from '../webhooks/webhooks.module';
import { MessageHandlerService } from './message-handler.service';

// The shared service layer both channel modules import.
@Module({
  imports: [
    ThreadsModule,
    RunsModule,
    AgentsModule,
    ApprovalsModule,
    IdempotencyModule,
    AuthModule,
    UsageModule,
    WebhooksModule,
  ],
  providers: [MessageHandlerService],
  exports: [MessageHandlerService, ThreadsModule, RunsModule],
})
export class MessagingModule {}
