import { RunEvent } from '../runs/run-event';

// JSON-RPC ids and progress tokens, as MCP has them.
export type RequestId = string | number;
export type ProgressToken = string | number;

// The tool call a run answers: which run, which JSON-RPC request, and where its progress goes.
export interface CallRef {
  runId: string;
  requestId: RequestId;
  progressToken?: ProgressToken;
}

// What a tool call's answer is, in MCP's CallToolResult shape.
export interface ToolResult {
  [key: string]: unknown;
  content: { type: 'text'; text: string }[];
  structuredContent: Record<string, unknown>;
  isError: boolean;
  _meta: Record<string, unknown>;
}

// Where each message came from, in its _meta: the event store names messages by it (the SSE id a
// client resumes after), so any instance can go on from there with the run's log.
export const RUN_META = 'netra/run_id';
export const SEQ_META = 'netra/seq';
export const REQUEST_META = 'netra/request_id';

// A run event as an MCP progress notification on the call (progress = the event's seq, which only
// grows), with the event itself in _meta for clients that show more than the message.
export function progressOf(call: CallRef, event: RunEvent) {
  if (call.progressToken === undefined) return null;
  return {
    method: 'notifications/progress' as const,
    params: {
      progressToken: call.progressToken,
      progress: event.seq,
      message: describe(event),
      _meta: {
        [RUN_META]: event.run_id,
        [SEQ_META]: event.seq,
        [REQUEST_META]: call.requestId,
        'netra/event': { type: event.type, agent_name: event.agent_name, data: event.data },
      },
    },
  };
}

// The call's answer, once the run has one: it ended, or it waits for a person (the caller answers
// with the approve tool; an approval answered before this was read does not end the call).
export function resultOf(event: RunEvent, answered: ReadonlySet<string>): ToolResult | null {
  const data = event.data;
  const base = { run_id: event.run_id, thread_id: event.thread_id };
  const meta = { [RUN_META]: event.run_id, [SEQ_META]: event.seq };
  const result = (text: string, fields: Record<string, unknown>, isError = false): ToolResult => ({
    content: [{ type: 'text', text }],
    structuredContent: { ...base, ...fields },
    isError,
    _meta: meta,
  });
  switch (event.type) {
    case 'agent_completed':
      return result(String(data.answer), { status: 'complete', answer: data.answer });
    case 'agent_error':
      return result(
        String(data.message),
        { status: 'failed', error: data.message, code: data.code },
        true,
      );
    case 'agent_cancelled':
      return result(
        `The run was cancelled (${String(data.reason)})`,
        { status: 'cancelled' },
        true,
      );
    case 'approval_required':
      if (answered.has(String(data.interrupt_id))) return null;
      return result(
        `The run waits for a person to approve ${String(data.tool)}` +
          ` ${JSON.stringify(data.arguments ?? {})}: call approve with this run_id and interrupt_id.`,
        {
          status: 'requires_action',
          interrupt_id: data.interrupt_id,
          tool: data.tool,
          arguments: data.arguments,
        },
      );
    default:
      return null;
  }
}

// One line for a person watching the progress.
function describe(event: RunEvent): string {
  const data = event.data;
  const who = event.agent_name;
  switch (event.type) {
    case 'agent_response_chunk':
    case 'agent_thinking':
      return String(data.text);
    case 'tool_executing':
      return `${who}: ${String(data.tool)} ${JSON.stringify(data.arguments ?? {})}`;
    case 'tool_completed':
      return `${who}: ${String(data.tool)} ${data.is_error ? 'failed' : 'done'}`;
    case 'tool_progress':
      return `${who}: ${String(data.tool)} ${String(data.message ?? data.done)}`;
    default:
      return `${who}: ${event.type}`;
  }
}
