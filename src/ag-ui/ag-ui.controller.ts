import { Body, Controller, Headers, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { StartsRun } from '../limits/rate-limit.guard';
import { MessageHandlerService } from '../messaging/message-handler.service';
import { ApiErrors } from '../rest/api-errors.decorator';
import { CancelResultView } from '../runs/run.views';
import { resumePoint, SseWriter } from '../sse/sse.writer';
import { AgUiChannel, AgUiFrame } from './ag-ui.channel';
import { RUN_AGENT_INPUT_SCHEMA } from './ag-ui.openapi';

const AGENT = { name: 'agent', description: 'A registered agent, for example `supervisor`' };

@ApiTags('ag-ui')
@ApiBearerAuth()
@ApiErrors(400, 401, 429, 503)
@Controller('ag-ui')
export class AgUiController {
  constructor(
    private readonly channel: AgUiChannel,
    private readonly handler: MessageHandlerService,
    private readonly sse: SseWriter,
  ) {}

  @Post(':agent')
  @StartsRun()
  @ApiOperation({
    summary: 'Run an agent over AG-UI (HTTP + SSE binding)',
    description:
      "The body is AG-UI's RunAgentInput (https://docs.ag-ui.com); the answer is a stream of " +
      'AG-UI events, each frame `id: <seq>` so a reconnect with Last-Event-ID (and the same ' +
      'body) resumes the run. A tool call waiting for approval ends the stream with ' +
      'RUN_FINISHED outcome `interrupt`; answer with `resume` on the next RunAgentInput.',
  })
  @ApiParam(AGENT)
  @ApiBody({ schema: RUN_AGENT_INPUT_SCHEMA })
  @ApiOkResponse({
    description: 'AG-UI events as Server-Sent Events',
    content: { 'text/event-stream': { schema: { type: 'string' } } },
  })
  @ApiErrors(404, 409, 413)
  async run(
    @Param('agent') agent: string,
    @Body() body: object,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    this.sse.admit(req, res);
    const frames = await this.channel.run(agent, body, resumePoint(undefined, lastEventId));
    this.sse.stream(frames, req, res, { frame: sseFrames, error: runError });
  }

  @Post(':agent/runs/:run_id/cancel')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Cancel an AG-UI run (by its runId); its stream ends with outcome `cancelled`',
    description:
      'Closing the stream does not cancel the run (a reconnect resumes it); this does, on ' +
      'whichever instance runs it.',
  })
  @ApiParam(AGENT)
  @ApiOkResponse({ type: CancelResultView })
  @ApiErrors(404)
  cancel(@Param('run_id') runId: string): Promise<CancelResultView> {
    return this.handler.handleStopAgent(runId);
  }
}

// All the events one run event became, written at once and under its seq.
function sseFrames({ seq, events }: AgUiFrame): string {
  const id = seq === undefined ? '' : `id: ${seq}\n`;
  return events.map((event) => `${id}data: ${JSON.stringify(event)}\n\n`).join('');
}

// A stream that cannot go on (the database went away) ends as a failed AG-UI run.
function runError(payload: { code?: string; message?: string }): string {
  const event = { type: 'RUN_ERROR', message: payload.message, code: payload.code };
  return `data: ${JSON.stringify(event)}\n\n`;
}
