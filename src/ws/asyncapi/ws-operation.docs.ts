import { Type } from '@nestjs/common';
import { ApprovalAnswerView, ApprovalView } from '../../approvals/approval.views';
import { StreamTicketView } from '../../auth/stream-ticket.view';
import { RunEvent } from '../../runs/run-event';
import { CancelResultView, RunPage, RunStartedView, RunStatusView } from '../../runs/run.views';
import { MessagePage, ThreadPage, ThreadView } from '../../threads/thread.views';
import { UsageView } from '../../usage/usage.views';
import { WebhookDeliveryView, WebhookSecretView } from '../../webhooks/webhook.views';
import { SubscribedView, ThreadDeletedView, UnsubscribedView } from './ws-frame.views';

// What the frame table (ws-operations.ts) cannot say about an operation: a line for readers, its
// REST twin, and the view its `ack` carries (an array of it when `[View]`). `reply: 'pong'` is
// ping's. test/asyncapi.e2e-spec.ts checks that this map and WS_OPERATIONS name the same types.
export interface OperationDoc {
  summary: string;
  rest: string;
  reply: { ack: Type<unknown> | [Type<unknown>] } | 'pong';
  // The socket follows the run named in the ack: agent_update frames come next.
  follows?: true;
}

export const WS_OPERATION_DOCS: Record<string, OperationDoc> = {
  start_agent: {
    summary: 'Start a run (on a new thread or `thread_id`); the socket then follows its events',
    rest: 'POST /api/agent/run_agent',
    reply: { ack: RunStartedView },
    follows: true,
  },
  user_message: {
    summary: 'Send a user message to a thread: starts a run there, followed as start_agent',
    rest: 'POST /api/threads/{id}/messages',
    reply: { ack: RunStartedView },
    follows: true,
  },
  stop_agent: {
    summary: 'Cancel a run (a finished one is left as it is: `cancelled: false`)',
    rest: 'POST /api/agent/{run_id}/cancel',
    reply: { ack: CancelResultView },
  },
  subscribe: {
    summary:
      'Follow a run: its stored events with seq > `after` first, then live ones, each once and ' +
      'in order; replaces an earlier subscription to the same run',
    rest: 'GET /api/agent/{run_id}/stream',
    reply: { ack: SubscribedView },
    follows: true,
  },
  unsubscribe: {
    summary: 'Stop following a run',
    rest: 'closing the stream',
    reply: { ack: UnsubscribedView },
  },
  approve_tool: {
    summary:
      'Approve or reject a tool call the run waits on (approval_required); answering again ' +
      'returns the first answer with `replayed: true`',
    rest: 'POST /api/agent/{run_id}/approvals/{interrupt_id}',
    reply: { ack: ApprovalAnswerView },
  },
  get_approvals: {
    summary: "The run's tool calls that need (or needed) a person's approval",
    rest: 'GET /api/agent/{run_id}/approvals',
    reply: { ack: [ApprovalView] },
  },
  get_run_status: {
    summary: "A run's status, and its result or error once finished",
    rest: 'GET /api/agent/{run_id}/status',
    reply: { ack: RunStatusView },
  },
  get_run_events: {
    summary: 'The stored events of a run after seq `after`, oldest first',
    rest: 'GET /api/agent/{run_id}/events',
    reply: { ack: [RunEvent] },
  },
  get_thread_history: {
    summary: "A page of the thread's messages, oldest first",
    rest: 'GET /api/threads/{id}/messages',
    reply: { ack: MessagePage },
  },
  get_thread_runs: {
    summary: "A page of the thread's runs, newest first",
    rest: 'GET /api/threads/{id}/runs',
    reply: { ack: RunPage },
  },
  create_thread: {
    summary: 'Create a thread',
    rest: 'POST /api/threads',
    reply: { ack: ThreadView },
  },
  list_threads: {
    summary: 'A page of your threads, newest first',
    rest: 'GET /api/threads',
    reply: { ack: ThreadPage },
  },
  get_thread: {
    summary: 'One thread',
    rest: 'GET /api/threads/{id}',
    reply: { ack: ThreadView },
  },
  update_thread: {
    summary: "Change a thread's title or metadata",
    rest: 'PATCH /api/threads/{id}',
    reply: { ack: ThreadView },
  },
  delete_thread: {
    summary: 'Delete a thread (a run in progress on it is cancelled first)',
    rest: 'DELETE /api/threads/{id}',
    reply: { ack: ThreadDeletedView },
  },
  get_usage: {
    summary:
      'Your token usage and its cost (LLM_PRICES) in [from, to): in total, per model, thread and run',
    rest: 'GET /api/usage',
    reply: { ack: UsageView },
  },
  get_webhook_secret: {
    summary:
      'Your webhook signing secret (X-Netra-Signature: t=<unix>,v1=<HMAC-SHA256 of "<t>.<body>">)',
    rest: 'GET /api/webhooks/secret',
    reply: { ack: WebhookSecretView },
  },
  get_webhook_deliveries: {
    summary: "Every attempt to deliver the run's webhook, oldest first",
    rest: 'GET /api/agent/{run_id}/webhooks',
    reply: { ack: [WebhookDeliveryView] },
  },
  create_stream_ticket: {
    summary: 'A single-use ticket for `?ticket=` on /ws or an SSE route (for browsers)',
    rest: 'POST /api/stream-tickets',
    reply: { ack: StreamTicketView },
  },
  ping: {
    summary: 'Is the socket alive? Answered with a pong frame',
    rest: 'GET /health/live',
    reply: 'pong',
  },
};
