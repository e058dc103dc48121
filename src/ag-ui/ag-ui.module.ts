import { Module } from '@nestjs/common';
import { MessagingModule } from '../messaging/messaging.module';
import { SseModule } from '../sse/sse.module';
import { AgUiChannel } from './ag-ui.channel';
import { AgUiController } from './ag-ui.controller';

// The AG-UI channel (HTTP + SSE binding) at /ag-ui, over the shared services.
@Module({
  imports: [MessagingModule, SseModule],
  controllers: [AgUiController],
  providers: [AgUiChannel],
})
export class AgUiModule {}

// Outside the /api prefix: AG-UI clients are given the agent's URL as it is.
export const AG_UI_ROUTES = ['ag-ui/:agent', 'ag-ui/:agent/runs/:run_id/cancel'];
