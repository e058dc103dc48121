import { ApprovalView } from '../approvals/approval.views';
import { RunStatus } from '../runs/run-status';
import { RunStatusView } from '../runs/run.views';
import { MessageView, ThreadView } from '../threads/thread.views';

// The Agent Protocol's objects (as the LangGraph SDK reads them), made from ours.

// Assistants have no history here: one version, as old as the process.
const BORN = new Date().toISOString();

export function assistantOf(name: string, description: string) {
  return {
    assistant_id: name,
    graph_id: name,
    name,
    description,
    config: {},
    context: {},
    metadata: {},
    version: 1,
    created_at: BORN,
    updated_at: BORN,
  };
}

// A LangChain message dict, as LangGraph's `messages` state holds them.
export interface LcMessage {
  type: 'human' | 'ai' | 'tool';
  content: string;
  id: string;
  [field: string]: unknown;
}

export function messagesOf(history: MessageView[]): LcMessage[] {
  return history.map((m) => ({
    type: m.role === 'user' ? 'human' : 'ai',
    content: m.content,
    id: m.id,
    response_metadata: { run_id: m.run_id },
  }));
}

// Our thread's id for the protocol: the client's own id for it when it named it.
export function lgThreadId(thread: ThreadView): string {
  return thread.client_thread_id ?? thread.id;
}

// LangGraph's run statuses: a run waiting for a person is `interrupted` (the thread too), as a
// cancelled one is.
const RUN_STATUS: Record<RunStatus, string> = {
  queued: 'pending',
  running: 'running',
  requires_action: 'interrupted',
  complete: 'success',
  failed: 'error',
  cancelled: 'interrupted',
};

export function runOf(run: RunStatusView, threadId: string, strategy: string | null = null) {
  return {
    run_id: run.run_id,
    thread_id: threadId,
    assistant_id: run.agent,
    created_at: run.created_at,
    updated_at: run.updated_at,
    status: RUN_STATUS[run.status],
    metadata: {},
    multitask_strategy: strategy,
    ...(run.status === 'cancelled' ? { cancel_reason: 'cancelled' } : {}),
  };
}

export function lgRunStatus(status: RunStatus): string {
  return RUN_STATUS[status];
}

// A pending approval as a LangGraph interrupt: its value says what waits, and how to answer.
export function interruptOf(
  approval: Pick<ApprovalView, 'interrupt_id' | 'tool' | 'arguments' | 'run_id'>,
) {
  return {
    id: approval.interrupt_id,
    value: {
      type: 'tool_approval',
      run_id: approval.run_id,
      tool: approval.tool,
      arguments: approval.arguments,
      answer_with: { decision: 'approve | reject', message: 'optional' },
    },
    resumable: true,
    when: 'during',
    ns: [],
  };
}

// The thread's status from its newest run and what that run waits on.
export function threadStatusOf(latest: RunStatusView | undefined): string {
  if (!latest) return 'idle';
  if (latest.status === 'requires_action') return 'interrupted';
  if (latest.status === 'queued' || latest.status === 'running') return 'busy';
  if (latest.status === 'failed') return 'error';
  return 'idle';
}

export function threadOf(
  thread: ThreadView,
  latest: RunStatusView | undefined,
  values: { messages: LcMessage[] },
  waiting: ApprovalView[],
) {
  return {
    thread_id: lgThreadId(thread),
    created_at: thread.created_at,
    updated_at: thread.updated_at,
    state_updated_at: thread.updated_at,
    metadata: thread.metadata,
    status: threadStatusOf(latest),
    values,
    interrupts: latest && waiting.length ? { [latest.run_id]: waiting.map(interruptOf) } : {},
  };
}

export function stateOf(
  thread: ThreadView,
  latest: RunStatusView | undefined,
  values: { messages: LcMessage[] },
  waiting: ApprovalView[],
) {
  const threadId = lgThreadId(thread);
  const interrupts = waiting.map(interruptOf);
  return {
    values,
    next: interrupts.length && latest ? [latest.agent] : [],
    checkpoint: {
      thread_id: threadId,
      checkpoint_ns: '',
      checkpoint_id: latest?.run_id ?? thread.id,
      checkpoint_map: null,
    },
    metadata: { source: 'loop', step: values.messages.length },
    created_at: latest?.updated_at ?? thread.updated_at,
    parent_checkpoint: null,
    tasks: waiting.map((a) => ({
      id: a.interrupt_id,
      name: a.tool,
      error: null,
      interrupts: [interruptOf(a)],
      checkpoint: null,
      state: null,
    })),
    interrupts,
  };
}
