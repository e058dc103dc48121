import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { MessageHandlerService } from '../messaging/message-handler.service';
import { WebhookSecretView } from '../webhooks/webhook.views';
import { ApiErrors } from './api-errors.decorator';

@ApiTags('webhooks')
@ApiBearerAuth()
@ApiErrors(401, 429, 503)
@Controller('webhooks')
export class WebhooksController {
  constructor(private readonly handler: MessageHandlerService) {}

  @Get('secret')
  @ApiOperation({
    summary: 'Your webhook signing secret',
    description:
      'Every webhook POST carries X-Netra-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of ' +
      '"<t>.<raw body>" keyed with this secret>. Check it, and that t is recent, before trusting ' +
      'the body.',
  })
  @ApiOkResponse({ type: WebhookSecretView })
  secret(): WebhookSecretView {
    return this.handler.getWebhookSecret();
  }
}
