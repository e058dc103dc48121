import {
  Body,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  Param,
  Patch,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { StartsRun } from '../limits/rate-limit.guard';
import { resumePoint, SseWriter } from '../sse/sse.writer';
import { LgChannel, LgFrame, LgStream } from './lg.channel';

// The Agent Protocol at /lg, as the LangGraph SDK's Client calls it (`apiUrl: <base>/lg`). The
// protocol has its own OpenAPI document (LangGraph's), so these routes are left out of ours;
// docs/channels.md lists what is covered. Authenticated and rate-limited like every route.
@ApiExcludeController()
@Controller('lg')
export class LgController {
  constructor(
    private readonly channel: LgChannel,
    private readonly sse: SseWriter,
  ) {}

  @Post('assistants/search')
  @HttpCode(200)
  searchAssistants(@Body() body: object) {
    return this.channel.searchAssistants(body);
  }

  @Get('assistants/:assistant_id')
  getAssistant(@Param('assistant_id') id: string) {
    return this.channel.getAssistant(id);
  }

  @Post('threads')
  @HttpCode(200)
  createThread(@Body() body: object) {
    return this.channel.createThread(body);
  }

  @Post('threads/search')
  @HttpCode(200)
  searchThreads(@Body() body: object) {
    return this.channel.searchThreads(body);
  }

  @Get('threads/:thread_id')
  getThread(@Param('thread_id') ref: string) {
    return this.channel.getThread(ref);
  }

  @Patch('threads/:thread_id')
  updateThread(@Param('thread_id') ref: string, @Body() body: object) {
    return this.channel.updateThread(ref, body);
  }

  @Delete('threads/:thread_id')
  @HttpCode(204)
  deleteThread(@Param('thread_id') ref: string): Promise<void> {
    return this.channel.deleteThread(ref);
  }

  @Get('threads/:thread_id/state')
  getState(@Param('thread_id') ref: string) {
    return this.channel.getState(ref);
  }

  @Post('threads/:thread_id/history')
  @HttpCode(200)
  getHistory(@Param('thread_id') ref: string) {
    return this.channel.getHistory(ref);
  }

  @Get('threads/:thread_id/runs')
  listRuns(@Param('thread_id') ref: string, @Query() query: Record<string, unknown>) {
    return this.channel.listRuns(ref, query);
  }

  @Post('threads/:thread_id/runs')
  @HttpCode(200)
  @StartsRun()
  async createRun(@Param('thread_id') ref: string, @Body() body: object) {
    const started = await this.channel.startRun(ref, body);
    return this.channel.getRun(started.threadId, started.runId);
  }

  @Post('threads/:thread_id/runs/stream')
  @StartsRun()
  async streamRun(
    @Param('thread_id') ref: string,
    @Body() body: object,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    this.sse.admit(req, res);
    this.pipe(await this.channel.startRun(ref, body), req, res);
  }

  @Post('threads/:thread_id/runs/wait')
  @HttpCode(200)
  @StartsRun()
  async waitRun(
    @Param('thread_id') ref: string,
    @Body() body: object,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    const closed = this.held(req, res);
    return this.channel.finalValues(await this.channel.startRun(ref, body), closed);
  }

  @Post('runs')
  @HttpCode(200)
  @StartsRun()
  async createThreadlessRun(@Body() body: object) {
    const started = await this.channel.startRun(null, body);
    return this.channel.getRun(started.threadId, started.runId);
  }

  @Post('runs/stream')
  @StartsRun()
  async streamThreadlessRun(
    @Body() body: object,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    this.sse.admit(req, res);
    this.pipe(await this.channel.startRun(null, body), req, res);
  }

  @Post('runs/wait')
  @HttpCode(200)
  @StartsRun()
  async waitThreadlessRun(
    @Body() body: object,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    const closed = this.held(req, res);
    return this.channel.finalValues(await this.channel.startRun(null, body), closed);
  }

  @Get('threads/:thread_id/runs/:run_id')
  getRun(@Param('thread_id') ref: string, @Param('run_id') runId: string) {
    return this.channel.getRun(ref, runId);
  }

  @Get('threads/:thread_id/runs/:run_id/join')
  join(
    @Param('thread_id') ref: string,
    @Param('run_id') runId: string,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    return this.channel.join(ref, runId, this.held(req, res));
  }

  @Get('threads/:thread_id/runs/:run_id/stream')
  async joinStream(
    @Param('thread_id') ref: string,
    @Param('run_id') runId: string,
    @Query('stream_mode') modes: unknown,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    this.sse.admit(req, res);
    const after = resumePoint(undefined, lastEventId);
    this.pipe(await this.channel.joinStream(ref, runId, modes, after), req, res);
  }

  @Post('threads/:thread_id/runs/:run_id/cancel')
  async cancel(
    @Param('thread_id') ref: string,
    @Param('run_id') runId: string,
    @Query('wait') wait: unknown,
    @Res() res: Response,
  ): Promise<void> {
    await this.channel.cancel(ref, runId);
    res.status(wait === '1' || wait === 'true' ? 204 : 202).end();
  }

  // A request held open until its run ends (wait, join) counts as an open stream of the user's
  // and ends at shutdown, as a stream does; its signal says the client went away.
  private held(req: Request, res: Response): AbortSignal {
    this.sse.admit(req, res);
    const closed = new AbortController();
    this.sse.track(res, () => res.destroy());
    res.once('close', () => closed.abort());
    return closed.signal;
  }

  // The stream, where the SDK looks for the run (Content-Location) and for where to reconnect
  // (Location, with the same stream modes), both relative to the client's apiUrl.
  private pipe(stream: LgStream, req: Request, res: Response): void {
    const run = `/threads/${encodeURIComponent(stream.threadId)}/runs/${stream.runId}`;
    const modes = stream.modes.map((m) => `stream_mode=${encodeURIComponent(m)}`).join('&');
    res.setHeader('Content-Location', run);
    res.setHeader('Location', `${run}/stream?${modes}`);
    this.sse.stream(stream.frames, req, res, { frame: sseFrames, error: errorFrame });
  }
}

function sseFrames({ seq, parts }: LgFrame): string {
  const id = seq === undefined ? '' : `id: ${seq}\n`;
  return parts.map((p) => `${id}event: ${p.event}\ndata: ${JSON.stringify(p.data)}\n\n`).join('');
}

function errorFrame(payload: { code?: string; message?: string }): string {
  return `event: error\ndata: ${JSON.stringify({ error: payload.code, message: payload.message })}\n\n`;
}

// Outside the /api prefix: the SDK is given <base>/lg as its apiUrl.
export const LG_ROUTES = [
  'lg/assistants/search',
  'lg/assistants/:assistant_id',
  'lg/threads',
  'lg/threads/search',
  'lg/threads/:thread_id',
  'lg/threads/:thread_id/state',
  'lg/threads/:thread_id/history',
  'lg/threads/:thread_id/runs',
  'lg/threads/:thread_id/runs/stream',
  'lg/threads/:thread_id/runs/wait',
  'lg/threads/:thread_id/runs/:run_id',
  'lg/threads/:thread_id/runs/:run_id/join',
  'lg/threads/:thread_id/runs/:run_id/stream',
  'lg/threads/:thread_id/runs/:run_id/cancel',
  'lg/runs',
  'lg/runs/stream',
  'lg/runs/wait',
];
