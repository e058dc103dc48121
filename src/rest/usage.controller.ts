import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { MessageHandlerService } from '../messaging/message-handler.service';
import { UsageQueryDto } from '../usage/dto/usage-query.dto';
import { UsageView } from '../usage/usage.views';
import { ApiErrors } from './api-errors.decorator';

@ApiTags('usage')
@ApiBearerAuth()
@ApiErrors(400, 401, 429, 503)
@Controller('usage')
export class UsageController {
  constructor(private readonly handler: MessageHandlerService) {}

  @Get()
  @ApiOperation({
    summary: 'Your token usage and its cost over a period: in total, per model, thread and run',
    description:
      'Runs started in [from, to). Costs come from the LLM_PRICES table (USD per million tokens); ' +
      'a model without a price makes the cost of what used it null.',
  })
  @ApiOkResponse({ type: UsageView })
  usage(@Query() query: UsageQueryDto): Promise<UsageView> {
    return this.handler.getUsage(query);
  }
}
