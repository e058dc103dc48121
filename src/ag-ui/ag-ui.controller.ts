import { Body, Controller, Headers, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiHeader,
  ApiNoContentResponse,
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
import { SseWriter } from '../sse/sse.writer';
import { AgUiChannel } from './ag-ui.channel';
import { RUN_AGENT_INPUT_SCHEMA } from './ag-ui.openapi';
import { AgUiFrame, parseLastEventId } from './ag-ui.translator';

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
      'AG-UI events, each frame with its own `id: <seq>.<n>` (the n-th AG-UI event of run event ' +
      '`seq`; RUN_STARTED is `0`), so a reconnect with Last-Event-ID (and the same body) goes on ' +
      'with exactly the frames after that one. A tool call waiting for approval ends the stream ' +
      'with RUN_FINISHED outcome `interrupt`; answer with `resume` on the next RunAgentInput.',
  })
  @ApiParam(AGENT)
  @ApiHeader({
    name: 'Last-Event-ID',
    required: false,
    description: 'Resume after this frame (`<seq>.<n>`), or after all of run event `<seq>`',
  })
  @ApiBody({ schema: RUN_AGENT_INPUT_SCHEMA })
  @ApiOkResponse({
    description: 'AG-UI events as Server-Sent Events',
    content: { 'text/event-stream': { schema: { type: 'string' } } },
  })
  @ApiNoContentResponse({ description: 'The stream had ended: nothing is after Last-Event-ID' })
  @ApiErrors(404, 409, 413)
  async run(
    @Param('agent') agent: string,
    @Body() body: object,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const after = parseLastEventId(lastEventId);
    this.sse.admit(req, res);
    const frames = await this.channel.run(agent, body, after);
    // 204 tells an EventSource to stop reconnecting, which a closed 200 stream would not.
    if (!frames) {
      res.status(204).end();
      return;
    }
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

// All the frames one run event became, written at once.
function sseFrames(frames: AgUiFrame[]): string {
  return frames.map(({ id, event }) => `id: ${id}\ndata: ${JSON.stringify(event)}\n\n`).join('');
}

// A stream that cannot go on (the database went away) ends as a failed AG-UI run. No id: it is
// not one of the run's frames (a replay would not make it), so a reconnect after it resumes
// after the last frame that was.
function runError(payload: { code?: string; message?: string }): string {
  const event = { type: 'RUN_ERROR', message: payload.message, code: payload.code };
  return `data: ${JSON.stringify(event)}\n\n`;
}
