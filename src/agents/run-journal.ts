import { EventInput } from '../runs/run-event.log';
import { RunEvent } from '../runs/run-event';

export interface ApprovalRequest {
  agentName: string;
  tool: string;
  callKey: string;
  arguments: Record<string, unknown>;
}

// The event that tells clients a call waits for them, with the interrupt that answers it.
export function approvalRequired(request: ApprovalRequest, interruptId: string): EventInput {
  return {
    type: 'approval_required',
    agentName: request.agentName,
    data: {
      interrupt_id: interruptId,
      tool: request.tool,
      call_id: request.callKey,
      arguments: request.arguments,
    },
  };
}

export interface ApprovalDecision {
  status: 'approved' | 'rejected';
  message: string | null;
}

// What one execution of a run writes about it, and reads back. Every write is made under the claim
// the execution holds and is refused (RunFencedError) once the run has ended or another executor
// has claimed it since: the execution then lets go. FencedRunJournal is the real one.
export interface RunJournal {
  append(...events: EventInput[]): Promise<void>;
  // Events that go first in the journal's next write, whichever it is (the end of a model turn's
  // text, with the tool call, the pause or the answer that follows it at once): one commit, not
  // two. Refused with that write; lost with it if the execution stops first, as its turn is then
  // run again.
  carry(...events: EventInput[]): void;
  save(checkpoint: object, version: number): Promise<void>;
  // An event of a tool call and the checkpoint it belongs to, in one commit: tool_completed with
  // the checkpoint that no longer holds the call (a resumed run can never find the call both
  // finished and still to run), tool_executing with the one that queued it.
  commitCall(event: EventInput, checkpoint: object, version: number): Promise<void>;
  // A model call's tokens: recorded with the journal's next write, and refused with it.
  addUsage(model: string, tokens: { input: number; output: number }): Promise<void>;
  // The answer already given for this call, if any.
  decision(callKey: string): Promise<ApprovalDecision | null>;
  // Saves the checkpoint, opens the approval and moves the run to requires_action with
  // approval_required, in one commit.
  pause(checkpoint: object, version: number, request: ApprovalRequest): Promise<void>;
  // The final answer: status, event and the assistant's message, in one commit.
  complete(answer: string): Promise<void>;
  fail(message: string, code: string): Promise<void>;
  // The run's latest event, or the latest of a type not in `except`.
  lastEvent(except?: readonly string[]): Promise<RunEvent | null>;
  // The run's events after `seq`, in order (at most 1,000).
  eventsAfter(seq: number): Promise<RunEvent[]>;
  // Calls `ended` once someone else ends the run (a cancel, on any instance) or claims it.
  watch(ended: () => void): () => void;
}
