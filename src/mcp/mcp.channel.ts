import { Injectable } from '@nestjs/common';
import { PER_USER } from '../context/per-user';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CancelledNotificationSchema,
  isInitializeRequest,
  JSONRPCMessage,
} from '@modelcontextprotocol/sdk/types.js';
import { createHash, randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import {
  defer,
  EMPTY,
  filter,
  firstValueFrom,
  from,
  fromEvent,
  map,
  mergeMap,
  Observable,
  of,
  Subscription,
  take,
  takeUntil,
  takeWhile,
  tap,
} from 'rxjs';
import { z } from 'zod';
import { ConfigService } from '@nestjs/config';
import { EnvironmentVariables } from '../config/env.validation';
import { rateLimited } from '../limits/rate-limit.guard';
import { RateLimitStorage } from '../limits/rate-limit.storage';
import { DECISIONS } from '../approvals/dto/approval-decision.dto';
import { toErrorPayload } from '../common/error-response';
import { validatePayload } from '../common/validation';
import { UserContext } from '../context/user-context';
import { MessageHandlerService } from '../messaging/message-handler.service';
import { recordPush } from '../metrics/metrics';
import { MAX_QUERY_LENGTH, StartAgentDto } from '../runs/dto/start-agent.dto';
import { RunEvent } from '../runs/run-event';
import { CallRef, progressOf, resultOf, ToolResult } from './mcp-messages';
import { Cursor, eventId, RunEventStore } from './run-event.store';

const SESSION_HEADER = 'mcp-session-id';

// What a tool handler is given about its call.
interface CallExtra {
  requestId: string | number;
  signal: AbortSignal;
  _meta?: { progressToken?: string | number };
  sendNotification: (notification: never) => Promise<void>;
}

// The MCP channel (Streamable HTTP): every registered agent is a tool, `approve` answers a tool
// call waiting for a person. Each HTTP request gets a server and transport of its own (the SDK's
// stateless mode), so any instance serves any request: nothing of a conversation lives in one
// process. What a stateful server would keep is elsewhere: the run and its events in PostgreSQL
// (a resumed stream is rebuilt from run_events by RunEventStore), and the client's session id,
// which this channel hands out at initialize and the client sends back, names its calls' runs
// (`mcp:<session>:<request id>` as the run's client id), so a cancellation for a request id
// finds the run from any instance.
// Per user (PER_USER), as the MessageHandlerService it calls.
@Injectable(PER_USER)
export class McpChannel {
  constructor(
    private readonly handler: MessageHandlerService,
    private readonly ctx: UserContext,
    private readonly limits: RateLimitStorage,
    private readonly config: ConfigService<EnvironmentVariables, true>,
  ) {}

  async serve(req: Request, res: Response): Promise<void> {
    const session = this.sessionOf(req, res);
    const subscriptions = new Set<Subscription>();
    // A replayed stream ends once the call's answer is sent: closing the transport ends it.
    const close = { transport: () => undefined as unknown };
    const store = new RunEventStore((cursor, send) =>
      this.replay(cursor, send, subscriptions, close.transport),
    );
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      eventStore: store,
    });
    close.transport = () => transport.close();
    const server = this.serverFor(session);
    res.on('close', () => {
      for (const subscription of subscriptions) subscription.unsubscribe();
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  }

  private serverFor(session: string): McpServer {
    const server = new McpServer(
      { name: 'netra-backend', version: '0.1.0' },
      { capabilities: { tools: {} } },
    );
    for (const { name, description } of this.handler.listAgents()) {
      server.registerTool(
        name,
        {
          description: `${description} Runs the agent on your query; progress notifications follow the run.`,
          inputSchema: {
            query: z.string().min(1).max(MAX_QUERY_LENGTH).describe('What to ask the agent'),
            thread_id: z
              .string()
              .max(100)
              .optional()
              .describe('Continue this thread (its id, or your own id for it; a new id makes one)'),
            webhook: z
              .string()
              .max(2000)
              .optional()
              .describe("POSTed the run's final status when it ends, signed"),
          },
        },
        (args, extra) => this.startCall(name, args, extra as never, session),
      );
    }
    server.registerTool(
      'approve',
      {
        description:
          'Answer a tool call a run waits on (status requires_action): approve runs it, reject tells the agent no; then follows the run to its end like the agent call.',
        inputSchema: {
          interrupt_id: z.string().max(100).describe('From the call that returned requires_action'),
          decision: z.enum(DECISIONS),
          message: z.string().max(2000).optional(),
        },
      },
      (args, extra) => this.approveCall(args, extra as never, session),
    );
    server.registerTool(
      'follow_run',
      {
        description:
          'Follow a run started anywhere (any channel) by its run_id or your client id for it: progress for its events, its answer as the result.',
        inputSchema: { run_id: z.string().min(1).max(200) },
      },
      async (args, extra) => {
        try {
          const { runId, events } = await this.handler.followRun(args.run_id, 0);
          return await this.answer(this.callOf(runId, extra), events, extra);
        } catch (err) {
          return errorResult(err);
        }
      },
    );
    server.registerTool(
      'cancel_run',
      {
        description: 'Cancel a run started anywhere, by its run_id or your client id for it.',
        inputSchema: { run_id: z.string().min(1).max(200) },
      },
      async (args) => {
        try {
          const cancelled = await this.handler.handleStopAgent(args.run_id);
          return {
            content: [{ type: 'text' as const, text: cancelled.message }],
            structuredContent: { ...cancelled },
            isError: false,
          };
        } catch (err) {
          return errorResult(err);
        }
      },
    );
    // A cancellation names the request: its run is the one under that client id, wherever it runs.
    server.server.setNotificationHandler(CancelledNotificationSchema, async (notification) => {
      const ref = clientRunId(session, notification.params.requestId ?? '');
      await this.handler.handleStopAgent(ref).catch(() => undefined);
    });
    return server;
  }

  private async startCall(
    agent: string,
    args: { query: string; thread_id?: string; webhook?: string },
    extra: CallExtra,
    session: string,
  ): Promise<ToolResult> {
    try {
      await this.countStart(this.ctx.userId);
      const dto = await validatePayload(StartAgentDto, {
        query: args.query,
        agent,
        id: clientRunId(session, extra.requestId),
        ...(args.webhook === undefined ? {} : { webhook: args.webhook }),
        ...(args.thread_id === undefined ? {} : { thread_id: args.thread_id }),
      });
      const { started, events } = await this.handler.startAndFollow(
        dto,
        undefined,
        0,
        args.thread_id !== undefined,
      );
      return await this.answer(this.callOf(started.run_id, extra), events, extra);
    } catch (err) {
      return errorResult(err);
    }
  }

  private async approveCall(
    args: { interrupt_id: string; decision: 'approve' | 'reject'; message?: string },
    extra: CallExtra,
    session: string,
  ): Promise<ToolResult> {
    try {
      const { runId, events } = await this.handler.approveAndFollow(
        args.interrupt_id,
        {
          decision: args.decision,
          ...(args.message === undefined ? {} : { message: args.message }),
        },
        clientRunId(session, extra.requestId),
      );
      return await this.answer(this.callOf(runId, extra), events, extra);
    } catch (err) {
      return errorResult(err);
    }
  }

  // A tool call that starts a run counts against the user's run starts, as a REST start or a
  // start_agent frame does (the same counter, shared by every instance).
  private async countStart(userId: string): Promise<void> {
    const limit = this.config.get('RATE_LIMIT_RUN_STARTS', { infer: true });
    const counted = await this.limits.increment(
      `starts:user:${userId}`,
      60_000,
      limit,
      0,
      'starts',
    );
    if (counted.isBlocked) throw rateLimited(counted.timeToBlockExpire * 1000, 'run starts');
  }

  // Progress for every event of the run until it has an answer (it ended, or waits for a person).
  private async answer(
    call: CallRef,
    events: Observable<RunEvent> | null,
    extra: CallExtra,
  ): Promise<ToolResult> {
    const answered = await this.handler.getAnsweredApprovals(call.runId);
    const source = events ?? this.fromStart(call.runId);
    // The client went away: stop following (the run goes on; a resume or another channel picks
    // it up). What is answered then reaches nobody.
    const closed = extra.signal.aborted ? of(true) : fromEvent(extra.signal, 'abort');
    const result = await firstValueFrom(
      source.pipe(
        tap((event) => {
          recordPush('mcp', event);
          const progress = progressOf(call, event);
          if (progress) void extra.sendNotification(progress as never).catch(() => undefined);
        }),
        map((event) => resultOf(event, answered)),
        filter((answer): answer is ToolResult => answer !== null),
        take(1),
        takeUntil(closed),
      ),
      { defaultValue: null },
    );
    if (result) return result;
    if (extra.signal.aborted) return errorResult(new Error('the request was closed'));
    // The feed ended without an answer (the run was over before the follow began): the answer
    // is its status now.
    return this.statusResult(call.runId);
  }

  // A stream resumed after `cursor`: the same messages the call would have sent from there on,
  // from the run's log, then the call's answer, then the stream ends.
  private async replay(
    cursor: Cursor,
    send: (id: string, message: JSONRPCMessage) => Promise<void>,
    subscriptions: Set<Subscription>,
    done: () => unknown,
  ): Promise<void> {
    const { events } = await this.handler.followRun(cursor.runId, cursor.seq);
    const answered = await this.handler.getAnsweredApprovals(cursor.runId);
    let resultSent = false;
    const subscription = (events ?? EMPTY)
      .pipe(
        map((event) => ({ event, result: resultOf(event, answered) })),
        takeWhile(({ result }) => result === null, true),
      )
      .subscribe({
        next: ({ event, result }) => {
          recordPush('mcp', event);
          const at = { ...cursor, seq: event.seq };
          const progress = progressOf(cursor, event);
          if (progress)
            void send(eventId(at), { jsonrpc: '2.0', ...progress }).catch(() => undefined);
          if (!result) return;
          resultSent = true;
          void send(eventId(at), { jsonrpc: '2.0', id: cursor.requestId, result }).finally(done);
        },
        // Ended without an answer to send: the stream ends too.
        complete: () => resultSent || done(),
        error: done,
      });
    subscriptions.add(subscription);
  }

  private async statusResult(runId: string): Promise<ToolResult> {
    const run = await this.handler.getRunStatus(runId);
    const done = run.status === 'complete';
    return {
      content: [{ type: 'text', text: run.result ?? run.error ?? `The run is ${run.status}` }],
      structuredContent: { run_id: run.run_id, thread_id: run.thread_id, status: run.status },
      isError: !done && run.status !== 'requires_action',
      _meta: {},
    };
  }

  private callOf(runId: string, extra: CallExtra): CallRef {
    const progressToken = extra._meta?.progressToken;
    return {
      runId,
      requestId: extra.requestId,
      ...(progressToken === undefined ? {} : { progressToken }),
    };
  }

  // A run that has ended with nothing after the resume point (rare: the call was replayed after
  // its run ended): followed again from its start, whose last event is the answer.
  private fromStart(runId: string): Observable<RunEvent> {
    return defer(() => from(this.handler.followRun(runId, 0))).pipe(
      mergeMap(({ events }) => events ?? EMPTY),
    );
  }

  // The client's session: made at initialize (and sent as Mcp-Session-Id, which clients send back
  // on every request), read from the header afterwards.
  private sessionOf(req: Request, res: Response): string {
    if (isInitializeRequest(req.body)) {
      const session = randomUUID();
      res.setHeader(SESSION_HEADER, session);
      return session;
    }
    const sent = req.headers[SESSION_HEADER];
    return typeof sent === 'string' && /^[A-Za-z0-9-]{1,64}$/.test(sent) ? sent : randomUUID();
  }
}

// The run's client id for a call: the session and the JSON-RPC request id (hashed when it is not
// plain), within the limits of a client run id.
function clientRunId(session: string, requestId: string | number): string {
  const id = String(requestId);
  const plain = /^[A-Za-z0-9._-]{1,64}$/.test(id)
    ? id
    : createHash('sha256').update(id).digest('hex').slice(0, 32);
  return `mcp:${session}:${plain}`;
}

// A failure as MCP reports a tool's: a result with isError, the API's error payload inside.
function errorResult(err: unknown): ToolResult {
  const { payload } = toErrorPayload(err, '');
  const error = payload as { code?: string; message?: string };
  return {
    content: [{ type: 'text', text: `${error.code ?? 'error'}: ${error.message ?? String(err)}` }],
    structuredContent: { status: 'error', error: payload },
    isError: true,
    _meta: {},
  };
}
