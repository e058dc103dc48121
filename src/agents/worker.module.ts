import { Module } from '@nestjs/common';
import { RunsModule } from '../runs/runs.module';
import { RunSweeper } from '../runs/run.sweeper';
import { ThreadsModule } from '../threads/threads.module';
import { WebhookWorker } from '../webhooks/webhook.worker';
import { WebhooksModule } from '../webhooks/webhooks.module';
import { AgentsModule } from './agents.module';
import { RunWorker } from './run.worker';

// Executing runs from the queue: part of the app when APP_ROLE is `all` or `worker`.
@Module({
  imports: [AgentsModule, RunsModule, ThreadsModule, WebhooksModule],
  providers: [RunWorker, RunSweeper, WebhookWorker],
})
export class WorkerModule {}
