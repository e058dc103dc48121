import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { Page, PaginationQueryDto } from '../common/pagination.dto';
import { MessageHandlerService } from '../messaging/message-handler.service';
import { UserMessageDto } from '../runs/dto/user-message.dto';
import { RunPage, RunStartedView, RunStatusView } from '../runs/run.views';
import { CreateThreadDto, UpdateThreadDto } from '../threads/dto/thread-fields.dto';
import { MessagePage, MessageView, ThreadPage, ThreadView } from '../threads/thread.views';
import { IdempotencyKey } from '../idempotency/idempotency-key';
import { StartsRun } from '../limits/rate-limit.guard';
import { ApiErrors, ApiIdempotencyKey } from './api-errors.decorator';

@ApiTags('threads')
@ApiBearerAuth()
@ApiErrors(400, 401, 429, 503)
@Controller('threads')
export class ThreadsController {
  constructor(private readonly handler: MessageHandlerService) {}

  @Post()
  @ApiOperation({ summary: 'Create a thread' })
  @ApiCreatedResponse({ type: ThreadView })
  @ApiErrors(409, 413)
  @ApiIdempotencyKey()
  create(
    @Body() dto: CreateThreadDto,
    @IdempotencyKey() key: string | undefined,
  ): Promise<ThreadView> {
    return this.handler.handleCreateThread(dto, key);
  }

  @Get()
  @ApiOperation({ summary: 'Your threads, newest first' })
  @ApiOkResponse({ type: ThreadPage })
  list(@Query() page: PaginationQueryDto): Promise<Page<ThreadView>> {
    return this.handler.listThreads(page);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One thread' })
  @ApiOkResponse({ type: ThreadView })
  @ApiErrors(404)
  get(@Param('id') id: string): Promise<ThreadView> {
    return this.handler.getThread(id);
  }

  @Patch(':id')
  @ApiOperation({ summary: "Change a thread's title or metadata" })
  @ApiOkResponse({ type: ThreadView })
  @ApiErrors(404, 413)
  update(@Param('id') id: string, @Body() dto: UpdateThreadDto): Promise<ThreadView> {
    return this.handler.updateThread(id, dto);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a thread (a run in progress on it is cancelled first)' })
  @ApiNoContentResponse()
  @ApiErrors(404)
  remove(@Param('id') id: string): Promise<void> {
    return this.handler.handleDeleteThread(id);
  }

  @Get(':id/messages')
  @ApiOperation({ summary: "The thread's messages, oldest first" })
  @ApiOkResponse({ type: MessagePage })
  @ApiErrors(404)
  messages(@Param('id') id: string, @Query() page: PaginationQueryDto): Promise<Page<MessageView>> {
    return this.handler.getThreadHistory(id, page);
  }

  @Post(':id/messages')
  @StartsRun()
  @HttpCode(202)
  @ApiOperation({ summary: 'Send a user message: starts a run on this thread' })
  @ApiAcceptedResponse({ type: RunStartedView })
  @ApiErrors(404, 409, 413)
  @ApiIdempotencyKey()
  send(
    @Param('id') id: string,
    @Body() dto: UserMessageDto,
    @IdempotencyKey() key: string | undefined,
  ): Promise<RunStartedView> {
    return this.handler.handleUserMessage(id, dto, key);
  }

  @Get(':id/runs')
  @ApiOperation({ summary: "The thread's runs, newest first" })
  @ApiOkResponse({ type: RunPage })
  @ApiErrors(404)
  runs(@Param('id') id: string, @Query() page: PaginationQueryDto): Promise<Page<RunStatusView>> {
    return this.handler.getThreadRuns(id, page);
  }
}
