import { Module } from '@nestjs/common';
import { LimitsModule } from '../limits/limits.module';
import { MessagingModule } from '../messaging/messaging.module';
import { SseModule } from '../sse/sse.module';
import { McpChannel } from './mcp.channel';
import { McpController } from './mcp.controller';

// The MCP channel (Streamable HTTP) at /mcp: the agents as tools, over the shared services.
@Module({
  imports: [MessagingModule, SseModule, LimitsModule],
  controllers: [McpController],
  providers: [McpChannel],
})
export class McpModule {}

// Outside the /api prefix: MCP clients are given the server's URL as it is.
export const MCP_ROUTES = ['mcp'];
