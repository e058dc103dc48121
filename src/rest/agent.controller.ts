import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  Param,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiHeader,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ApprovalAnswerView, ApprovalView } from '../approvals/approval.views';
import { AcceptsTicket } from '../auth/jwt-auth.guard';
import { StartsRun } from '../limits/rate-limit.guard';
import { ApprovalDecisionDto } from '../approvals/dto/approval-decision.dto';
import { MessageHandlerService } from '../messaging/message-handler.service';
import { EventsQueryDto, StreamQueryDto } from '../runs/dto/run-ref.dto';
import { StartAgentDto } from '../runs/dto/start-agent.dto';
import { RunEvent } from '../runs/run-event';
import { CancelResultView, RunStartedView, RunStatusView } from '../runs/run.views';
import { IdempotencyKey } from '../idempotency/idempotency-key';
import { ApiErrors, ApiIdempotencyKey } from './api-errors.decorator';
import { resumePoint, SseWriter } from '../sse/sse.writer';
import { WebhookDeliveryView } from '../webhooks/webhook.views';

const SSE_CONTENT = {
  'text/event-stream': {
    schema: { type: 'string', description: 'A stream of SSE frames; see the description' },
    example:
      'retry: 2000\n\nid: 1\nevent: agent_started\ndata: {"run_id":"…","thread_id":"…","seq":1,' +
      '"type":"agent_started","agent_name":"supervisor","data":{…},"timestamp":"…"}\n\n: keep-alive\n\n',
  },
};

const SSE_DESCRIPTION =
  'Server-Sent Events. Each event of the run is a frame `id: <seq>`, `event: <type>`, ' +
  '`data: <RunEvent JSON>` (the same object GET /api/agent/{run_id}/events returns; see the ' +
  'RunEvent schema for each type). Resumes after the Last-Event-ID header or `?after=N`; a comment ' +
  'line every 15 s keeps it alive; it ends after the terminal event (agent_completed, agent_error ' +
  'or agent_cancelled). If the stream cannot go on (the database went away) it ends with a frame ' +
  '`event: error`, `data: <Error JSON>` (code, message, request_id): reconnect with Last-Event-ID. ' +
  'Errors before the stream starts are ordinary JSON answers.';

@ApiTags('agent')
@ApiBearerAuth()
@ApiErrors(400, 401, 429, 503)
@Controller('agent')
export class AgentController {
  constructor(
    private readonly handler: MessageHandlerService,
    private readonly sse: SseWriter,
  ) {}

  @Post('run_agent')
  @StartsRun()
  @HttpCode(202)
  @ApiOperation({ summary: 'Start a run; poll it, read its events or stream it' })
  @ApiAcceptedResponse({ type: RunStartedView })
  @ApiErrors(404, 409, 413)
  @ApiIdempotencyKey()
  runAgent(
    @Body() dto: StartAgentDto,
    @IdempotencyKey() key: string | undefined,
  ): Promise<RunStartedView> {
    return this.handler.handleStartAgent(dto, key);
  }

  @Post('stream')
  @StartsRun()
  @AcceptsTicket()
  @ApiOperation({
    summary: 'Start a run and stream its events in one call',
    description: SSE_DESCRIPTION,
  })
  @ApiOkResponse({
    description: 'The event stream; X-Run-Id and X-Thread-Id headers name the run',
    content: SSE_CONTENT,
  })
  @ApiErrors(404, 409, 413)
  @ApiIdempotencyKey()
  async startAndStream(
    @Body() dto: StartAgentDto,
    @IdempotencyKey() key: string | undefined,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    // A reconnect repeats the POST: with the run's `id` or an Idempotency-Key it resumes that run;
    // without either there is no telling which run it was, so it must not start another.
    if (lastEventId !== undefined && !dto.id && !key) {
      res.status(204).end();
      return;
    }
    this.sse.admit(req, res);
    const after = resumePoint(undefined, lastEventId);
    const { started, events } = await this.handler.startAndFollow(dto, key, after);
    res.setHeader('X-Run-Id', started.run_id);
    res.setHeader('X-Thread-Id', started.thread_id);
    this.sse.pipe(events, req, res);
  }

  @Get(':run_id/status')
  @ApiOperation({ summary: "A run's status, and its result or error once finished" })
  @ApiOkResponse({ type: RunStatusView })
  @ApiErrors(404)
  status(@Param('run_id') runId: string): Promise<RunStatusView> {
    return this.handler.getRunStatus(runId);
  }

  @Get(':run_id/events')
  @ApiOperation({ summary: 'The stored events of a run after seq `after`, oldest first' })
  @ApiOkResponse({ type: [RunEvent] })
  @ApiErrors(404)
  events(@Param('run_id') runId: string, @Query() query: EventsQueryDto): Promise<RunEvent[]> {
    return this.handler.getRunEvents(runId, query.after, query.limit);
  }

  @Get(':run_id/stream')
  @AcceptsTicket()
  @ApiOperation({ summary: "Stream a run's events", description: SSE_DESCRIPTION })
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'Resume after this seq' })
  @ApiOkResponse({ description: 'The event stream', content: SSE_CONTENT })
  @ApiNoContentResponse({ description: 'The run has ended and nothing is after the resume point' })
  @ApiErrors(404)
  async stream(
    @Param('run_id') runId: string,
    @Query() query: StreamQueryDto,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    this.sse.admit(req, res);
    const { events } = await this.handler.followRun(runId, resumePoint(query.after, lastEventId));
    this.sse.pipe(events, req, res);
  }

  @Get(':run_id/approvals')
  @ApiOperation({ summary: "The run's tool calls that need (or needed) a person's approval" })
  @ApiOkResponse({ type: [ApprovalView] })
  @ApiErrors(404)
  approvals(@Param('run_id') runId: string): Promise<ApprovalView[]> {
    return this.handler.getApprovals(runId);
  }

  @Post(':run_id/approvals/:interrupt_id')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Approve or reject a tool call the run is waiting on',
    description:
      'The first answer is kept and resumes the run; answering again returns that first answer ' +
      'with `replayed: true`.',
  })
  @ApiOkResponse({ type: ApprovalAnswerView })
  @ApiErrors(404, 409, 413)
  @ApiIdempotencyKey()
  answer(
    @Param('run_id') runId: string,
    @Param('interrupt_id') interruptId: string,
    @Body() dto: ApprovalDecisionDto,
    @IdempotencyKey() key: string | undefined,
  ): Promise<ApprovalAnswerView> {
    return this.handler.handleApproval(runId, interruptId, dto, key);
  }

  @Get(':run_id/webhooks')
  @ApiOperation({ summary: "Every attempt to deliver the run's webhook, oldest first" })
  @ApiOkResponse({ type: [WebhookDeliveryView] })
  @ApiErrors(404)
  webhooks(@Param('run_id') runId: string): Promise<WebhookDeliveryView[]> {
    return this.handler.getWebhookDeliveries(runId);
  }

  @Post(':run_id/cancel')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Cancel a run',
    description: 'A finished run is left as it is; `cancelled: false` says so.',
  })
  @ApiOkResponse({ type: CancelResultView })
  @ApiErrors(404)
  cancel(@Param('run_id') runId: string): Promise<CancelResultView> {
    return this.handler.handleStopAgent(runId);
  }
}
