import { Type } from '@nestjs/common';
import { Observable } from 'rxjs';
import { ApproveToolFrameDto } from '../approvals/dto/approval-decision.dto';
import { PaginationQueryDto } from '../common/pagination.dto';
import { MessageHandlerService } from '../messaging/message-handler.service';
import {
  EventsQueryDto,
  RunEventsFrameDto,
  RunRefDto,
  SubscribeDto,
} from '../runs/dto/run-ref.dto';
import { StartAgentFrameDto } from '../runs/dto/start-agent.dto';
import { UserMessageFrameDto } from '../runs/dto/user-message.dto';
import { CreateThreadFrameDto } from '../threads/dto/thread-fields.dto';
import { ThreadPageRefDto, ThreadRefDto, UpdateThreadFrameDto } from '../threads/dto/thread-id.dto';
import { RunEvent } from '../runs/run-event';
import { UsageQueryDto } from '../usage/dto/usage-query.dto';
import { WsSession } from './ws-session';

export interface OperationContext {
  // The socket's user's instance of the shared layer's entry point.
  handler: MessageHandlerService;
  session: WsSession;
}

// What the gateway sends back: the `ack` payload (or a `pong`), and a run the socket now follows.
export interface Reply {
  type: 'ack' | 'pong';
  payload: unknown;
  // events null: the run has ended and nothing is left to send.
  follow?: { runId: string; events: Observable<RunEvent> | null };
}

interface Operation<P extends object> {
  // The payload's DTO; none for frames that take no payload (ping).
  dto?: Type<P>;
  run(payload: P, ctx: OperationContext): Promise<Reply>;
}

const ack = async (payload: unknown): Promise<Reply> => ({
  type: 'ack',
  payload: await payload,
});

// Erases the payload type for the table; the gateway validates the payload with `dto` first.
const op = <P extends object>(operation: Operation<P>): Operation<object> => operation;

// Every client frame type and the one service call behind it: the same calls the REST controllers
// make. Upper-case aliases (START_AGENT) are accepted by lower-casing the type.
export const WS_OPERATIONS: Record<string, Operation<object>> = {
  start_agent: op({
    dto: StartAgentFrameDto,
    run: async ({ idempotency_key, ...dto }, ctx) => {
      const { started, events } = await ctx.handler.startAndFollow(dto, idempotency_key);
      return { type: 'ack', payload: started, follow: { runId: started.run_id, events } };
    },
  }),
  user_message: op({
    dto: UserMessageFrameDto,
    run: async ({ thread_id, idempotency_key, ...dto }, ctx) => {
      const { started, events } = await ctx.handler.sendAndFollow(thread_id, dto, idempotency_key);
      return { type: 'ack', payload: started, follow: { runId: started.run_id, events } };
    },
  }),
  stop_agent: op({
    dto: RunRefDto,
    run: async (p, ctx) => ack(ctx.handler.handleStopAgent(p.run_id)),
  }),
  subscribe: op({
    dto: SubscribeDto,
    run: async (p, ctx) => {
      const after = p.after ?? 0;
      const { runId, events } = await ctx.handler.followRun(p.run_id, after);
      // `ended`: the run is over and nothing is after `after`, so no updates will come.
      return {
        type: 'ack',
        payload: { run_id: runId, after, ended: events === null },
        follow: { runId, events },
      };
    },
  }),
  unsubscribe: op({
    dto: RunRefDto,
    run: async (p, ctx) => {
      // A client id names the same subscription as the run's own id.
      const runId = ctx.session.follows(p.run_id)
        ? p.run_id
        : (await ctx.handler.getRunStatus(p.run_id)).run_id;
      return ack({ run_id: runId, unsubscribed: ctx.session.unfollow(runId) });
    },
  }),
  approve_tool: op({
    dto: ApproveToolFrameDto,
    run: async ({ run_id, interrupt_id, idempotency_key, ...answer }, ctx) =>
      ack(ctx.handler.handleApproval(run_id, interrupt_id, answer, idempotency_key)),
  }),
  get_approvals: op({
    dto: RunRefDto,
    run: async (p, ctx) => ack(ctx.handler.getApprovals(p.run_id)),
  }),
  get_run_status: op({
    dto: RunRefDto,
    run: async (p, ctx) => ack(ctx.handler.getRunStatus(p.run_id)),
  }),
  get_run_events: op({
    dto: RunEventsFrameDto,
    run: async (p: RunEventsFrameDto & EventsQueryDto, ctx) =>
      ack(ctx.handler.getRunEvents(p.run_id, p.after, p.limit)),
  }),
  get_thread_history: op({
    dto: ThreadPageRefDto,
    run: async (p, ctx) => ack(ctx.handler.getThreadHistory(p.thread_id, p)),
  }),
  get_thread_runs: op({
    dto: ThreadPageRefDto,
    run: async (p, ctx) => ack(ctx.handler.getThreadRuns(p.thread_id, p)),
  }),
  create_thread: op({
    dto: CreateThreadFrameDto,
    run: async ({ idempotency_key, ...dto }, ctx) =>
      ack(ctx.handler.handleCreateThread(dto, idempotency_key)),
  }),
  list_threads: op({
    dto: PaginationQueryDto,
    run: async (p, ctx) => ack(ctx.handler.listThreads(p)),
  }),
  get_thread: op({
    dto: ThreadRefDto,
    run: async (p, ctx) => ack(ctx.handler.getThread(p.thread_id)),
  }),
  update_thread: op({
    dto: UpdateThreadFrameDto,
    run: async ({ thread_id, ...fields }, ctx) => ack(ctx.handler.updateThread(thread_id, fields)),
  }),
  delete_thread: op({
    dto: ThreadRefDto,
    run: async (p, ctx) => {
      await ctx.handler.handleDeleteThread(p.thread_id);
      return ack({ thread_id: p.thread_id, deleted: true });
    },
  }),
  get_usage: op({
    dto: UsageQueryDto,
    run: async (p, ctx) => ack(ctx.handler.getUsage(p)),
  }),
  get_webhook_secret: op({
    run: async (_p, ctx) => ack(ctx.handler.getWebhookSecret()),
  }),
  get_webhook_deliveries: op({
    dto: RunRefDto,
    run: async (p, ctx) => ack(ctx.handler.getWebhookDeliveries(p.run_id)),
  }),
  create_stream_ticket: op({
    run: async (_p, ctx) => ack(ctx.handler.createStreamTicket(ctx.session.user.expiresAt)),
  }),
  ping: op({ run: () => Promise.resolve({ type: 'pong', payload: {} }) }),
};
