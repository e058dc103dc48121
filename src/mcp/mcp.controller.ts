import { All, Controller, HttpCode, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { DomainError } from '../common/domain.error';
import { SseWriter } from '../sse/sse.writer';
import { McpChannel } from './mcp.channel';

// MCP over Streamable HTTP at /mcp: POST for JSON-RPC messages (answered as SSE or JSON), GET with
// Last-Event-ID to resume a call's stream, DELETE to end a session. The protocol defines its own
// messages (JSON-RPC, described by MCP's schema), so the route is left out of the OpenAPI document;
// docs/channels.md describes it. Authenticated and rate-limited like every route.
@ApiExcludeController()
@ApiBearerAuth()
@Controller('mcp')
export class McpController {
  constructor(
    private readonly channel: McpChannel,
    private readonly sse: SseWriter,
  ) {}

  @All()
  @HttpCode(200)
  async serve(@Req() req: Request, @Res() res: Response): Promise<void> {
    // No standalone stream of server-initiated messages: this server sends none (405 says so,
    // and clients go on without it). A GET with Last-Event-ID resumes a call's stream.
    if (req.method === 'GET' && !req.headers['last-event-id']) {
      res.status(405).setHeader('Allow', 'POST, DELETE').end();
      return;
    }
    // A JSON-RPC batch (MCP dropped them in 2025-06-18) would start many runs in one request.
    if (Array.isArray(req.body)) {
      throw DomainError.validation([
        {
          field: 'body',
          messages: ['send one JSON-RPC message per request; batches are not taken'],
        },
      ]);
    }
    this.sse.admit(req, res);
    this.sse.track(res, () => res.destroy());
    await this.channel.serve(req, res);
  }
}
