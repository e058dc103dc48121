import { Controller, Post, Req } from '@nestjs/common';
import type { Request } from 'express';
import { ApiBearerAuth, ApiCreatedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { StreamTicketView } from '../auth/stream-ticket.view';
import { MessageHandlerService } from '../messaging/message-handler.service';
import { ApiErrors } from './api-errors.decorator';

@ApiTags('auth')
@ApiBearerAuth()
@ApiErrors(401, 429, 503)
@Controller('stream-tickets')
export class StreamTicketsController {
  constructor(private readonly handler: MessageHandlerService) {}

  @Post()
  @ApiOperation({
    summary: 'A single-use ticket for a URL: an EventSource or a browser WebSocket',
    description:
      'Browsers cannot send an Authorization header on an EventSource or a WebSocket. Ask for a ' +
      'ticket with your token, then open `/api/agent/{run_id}/stream?ticket=…` or ' +
      '`/ws?ticket=…`: the ticket works once, within `expires_in` seconds, and your long-lived ' +
      'token never sits in a URL.',
  })
  @ApiCreatedResponse({ type: StreamTicketView })
  create(@Req() req: Request): Promise<StreamTicketView> {
    return this.handler.createStreamTicket(req.user?.expiresAt);
  }
}
