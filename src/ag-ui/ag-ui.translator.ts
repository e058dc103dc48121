import { EventType } from '@ag-ui/core';
import { DomainError } from '../common/domain.error';
import { RunEvent } from '../runs/run-event';

// One AG-UI event as it goes on the wire (the protocol's BaseEvent: a `type` and its fields).
export interface AgUiEvent {
  type: EventType;
  [field: string]: unknown;
}

// The AG-UI events one of our run events becomes, and whether the AG-UI stream ends with them
// (it ends on the run's end, and on an approval the run waits for: AG-UI's interrupt outcome).
export interface Translated {
  seq: number;
  events: AgUiEvent[];
  final: boolean;
  // How many ids the last event's skips (see the answered approval_required).
  gap?: number;
}

// One SSE frame of an AG-UI stream: an AG-UI event and its id.
export interface AgUiFrame {
  id: string;
  event: AgUiEvent;
}

// Where a reconnect resumes (its Last-Event-ID): after frame `<seq>.<n>`, the n-th AG-UI event
// run event `seq` became, or after all of seq's frames (a bare `<seq>`).
export interface ResumePoint {
  seq: number;
  n?: number;
}

// RUN_STARTED's id. RUN_STARTED comes before any run event's frames and seqs start at 1, so `0`:
// a bare seq (after all of seq 0's frames, of which there are none) that sorts before every
// `<seq>.<n>`, and from which a resume sends the stream's frames from its start, all but
// RUN_STARTED. A stream that answers an approval starts after the approval's event: from 0 it
// resumes there too.
export const STARTED_ID = '0';

// The frames one translated run event makes, `<seq>.<n>` in order, those at or before `after`
// (a reconnect's resume point) left out. Ids are distinct and increase (by seq, then n: compared
// as numbers they would not, 3.10 < 3.9), and the same after a replay: translation is deterministic.
export function framesOf({ seq, events, gap = 0 }: Translated, after?: ResumePoint): AgUiFrame[] {
  const last = events.length - 1;
  const numbered = events.map((event, i) => ({ n: i === last ? i + gap : i, event }));
  const kept =
    !after || seq > after.seq
      ? numbered
      : seq < after.seq || after.n === undefined
        ? []
        : numbered.filter(({ n }) => n > after.n!);
  return kept.map(({ n, event }) => ({ id: `${seq}.${n}`, event }));
}

// A Last-Event-ID: a frame's `<seq>.<n>`, or a bare `<seq>` (RUN_STARTED's, and the ids of this
// channel before frames had their own). None: a new stream.
export function parseLastEventId(value: string | undefined): ResumePoint | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const match = /^(\d{1,9})(?:\.(\d{1,6}))?$/.exec(value.trim());
  if (!match) {
    throw DomainError.validation([
      {
        field: 'Last-Event-ID',
        messages: ['Last-Event-ID must be a frame id (<seq>.<n>) or a seq'],
      },
    ]);
  }
  const seq = Number(match[1]);
  return match[2] === undefined ? { seq } : { seq, n: Number(match[2]) };
}

// Turns one run's events into AG-UI events for one stream. AG-UI wants explicit START/END pairs
// around streamed text, reasoning and sub-agent steps, where our log has a flat sequence of
// deltas: the translator keeps what is open and closes it when the sequence moves on. What it
// makes of an event depends only on the stream's events up to it (each AG-UI event takes its run
// event's time), so a reconnect translates the stream again from its start and holds what a
// continuous stream's translator held: nothing is opened twice, and the n-th frame of a seq is
// the same frame. (Only an approval answered in between changes what its event becomes: the
// stream then goes on past it, as the run did.)
export class AgUiTranslator {
  // The id of the text and of the reasoning message open now.
  private text: string | null = null;
  private reasoning: string | null = null;
  private step: string | null = null;
  // Bumped by an agent_resumed that drops the step's text: it is streamed again, as a new message.
  private attempt = 0;
  // Tool calls already shown to the client: at approval_required, or an earlier stream's
  // approval (a call that needed one was shown before it was answered).
  private readonly announced = new Set<string>();
  // When the run event being translated happened: the time of every AG-UI event it becomes, so a
  // replay makes the same events.
  private at = 0;

  // `answered`: the run's approvals decided before the stream opened. Replaying the log past one
  // of them, the stream goes on (the run did), where a pending one ends it as an interrupt.
  constructor(
    private readonly ids: { threadId: string; runId: string; agent: string },
    private readonly answered: ReadonlySet<string> = new Set(),
    private readonly now: () => number = Date.now,
  ) {}

  // Sent once, by a new stream (never replayed): it takes the time it is sent.
  started(input?: object): AgUiEvent {
    return this.event(
      EventType.RUN_STARTED,
      { threadId: this.ids.threadId, runId: this.ids.runId, ...(input ? { input } : {}) },
      this.now(),
    );
  }

  // Whether this stream, had the approval of `event` still been pending when it was opened, ended
  // with it at frame `n` of its seq: the RUN_FINISHED (interrupt) a client that
  // reconnects after it has already seen. Worked out on a copy, so this translator is unchanged.
  // The answered translation's ids skip that frame's (gap), so `<seq>.<n>` names it only in the
  // pending one; a bare `<seq>` (all of seq's frames) is taken to have seen the end.
  endedBefore(event: RunEvent, n: number | undefined): boolean {
    if (event.type !== 'approval_required' || !this.answered.has(String(event.data.interrupt_id)))
      return false;
    const pending: AgUiTranslator = Object.assign(
      Object.create(AgUiTranslator.prototype) as object,
      this,
      { announced: new Set(this.announced), answered: new Set<string>() },
    );
    const { events, final } = pending.translate(event);
    return final && (n === undefined || n === events.length - 1);
  }

  translate(event: RunEvent): Translated {
    this.at = Date.parse(event.timestamp);
    const out: AgUiEvent[] = [];
    let final = false;
    let gap = 0;
    const data = event.data;
    this.enterStep(event.agent_name, out);
    switch (event.type) {
      case 'agent_response_chunk':
        this.closeReasoning(out);
        this.openText(event, out);
        out.push(
          this.event(EventType.TEXT_MESSAGE_CONTENT, { messageId: this.text, delta: data.text }),
        );
        break;
      case 'agent_thinking':
        this.closeText(out);
        this.openReasoning(event, out);
        out.push(
          this.event(EventType.REASONING_MESSAGE_CONTENT, {
            messageId: this.reasoning,
            delta: data.text,
          }),
        );
        break;
      case 'tool_executing':
        this.closeStreams(out);
        this.announce(event, out);
        break;
      case 'tool_completed':
        this.closeStreams(out);
        out.push(
          this.event(EventType.TOOL_CALL_RESULT, {
            messageId: `${this.callId(event)}-result`,
            toolCallId: this.callId(event),
            role: 'tool',
            content: JSON.stringify(data.result ?? null),
            ...(data.is_error ? { error: errorOf(data.result) } : {}),
          }),
        );
        break;
      case 'approval_required':
        this.closeStreams(out);
        this.announce(event, out);
        if (this.answered.has(String(data.interrupt_id))) {
          out.push(this.custom('approval_required', data));
          // Its id skips those of the frames a pending approval ends the stream with (a step's
          // STEP_FINISHED, RUN_FINISHED), so a reconnect's id tells which of the two it saw.
          gap = (this.step ? 1 : 0) + 1;
          break;
        }
        this.leaveStep(out);
        out.push(
          this.event(EventType.RUN_FINISHED, {
            threadId: this.ids.threadId,
            runId: this.ids.runId,
            outcome: {
              type: 'interrupt',
              interrupts: [
                {
                  id: data.interrupt_id,
                  reason: 'tool_approval',
                  message: `Allow ${String(data.tool)} to run?`,
                  toolCallId: this.callId(event),
                  responseSchema: APPROVAL_RESPONSE,
                  metadata: { run_id: event.run_id, tool: data.tool, arguments: data.arguments },
                },
              ],
            },
          }),
        );
        final = true;
        break;
      case 'approval_resolved':
        this.announced.add(this.callId(event));
        out.push(this.custom('approval_resolved', data));
        break;
      case 'tool_progress':
        out.push(this.custom('tool_progress', data));
        break;
      case 'agent_resumed':
        // Kept: the step's text continues in the same message. Dropped: what was streamed of
        // the step comes again from its start, as a new message.
        if (data.partial !== 'kept') {
          this.closeStreams(out);
          this.attempt = event.seq;
        }
        out.push(this.custom('agent_resumed', data));
        break;
      case 'agent_completed':
        this.closeAll(out);
        out.push(
          this.event(EventType.RUN_FINISHED, {
            threadId: this.ids.threadId,
            runId: this.ids.runId,
            result: data.answer,
            outcome: { type: 'success' },
          }),
        );
        final = true;
        break;
      case 'agent_cancelled':
        this.closeAll(out);
        out.push(
          this.event(EventType.RUN_FINISHED, {
            threadId: this.ids.threadId,
            runId: this.ids.runId,
            outcome: { type: 'cancelled' },
          }),
        );
        final = true;
        break;
      case 'agent_error':
        this.closeAll(out);
        out.push(
          this.event(EventType.RUN_ERROR, {
            message: data.message,
            ...(typeof data.code === 'string' ? { code: data.code } : {}),
          }),
        );
        final = true;
        break;
      case 'agent_started':
        break;
    }
    return { seq: event.seq, events: out, final, ...(gap ? { gap } : {}) };
  }

  private announce(event: RunEvent, out: AgUiEvent[]): void {
    const toolCallId = this.callId(event);
    if (this.announced.has(toolCallId)) return;
    this.announced.add(toolCallId);
    out.push(
      this.event(EventType.TOOL_CALL_START, { toolCallId, toolCallName: event.data.tool }),
      this.event(EventType.TOOL_CALL_ARGS, {
        toolCallId,
        delta: JSON.stringify(event.data.arguments ?? {}),
      }),
      this.event(EventType.TOOL_CALL_END, { toolCallId }),
    );
  }

  // Call ids are the model's, unique within a run only ("call_1_1"); the client keeps the
  // thread's calls side by side, so they are qualified by the run and, in a sub-agent, its name.
  private callId(event: RunEvent): string {
    return `${this.scope(event)}-${String(event.data.call_id)}`;
  }

  private scope(event: RunEvent): string {
    return event.agent_name === this.ids.agent
      ? event.run_id
      : `${event.run_id}-${event.agent_name}`;
  }

  // A message per model turn (`step`) of each agent, per attempt.
  private messageKey(event: RunEvent, kind: string): string {
    const attempt = this.attempt ? `-a${this.attempt}` : '';
    return `${this.scope(event)}-${kind}${Number(event.data.step ?? 0)}${attempt}`;
  }

  private openText(event: RunEvent, out: AgUiEvent[]): void {
    const messageId = this.messageKey(event, 's');
    if (this.text === messageId) return;
    this.closeText(out);
    this.text = messageId;
    out.push(this.event(EventType.TEXT_MESSAGE_START, { messageId, role: 'assistant' }));
  }

  private openReasoning(event: RunEvent, out: AgUiEvent[]): void {
    const messageId = this.messageKey(event, 'r');
    if (this.reasoning === messageId) return;
    this.closeReasoning(out);
    this.reasoning = messageId;
    out.push(
      this.event(EventType.REASONING_START, { messageId }),
      this.event(EventType.REASONING_MESSAGE_START, { messageId, role: 'reasoning' }),
    );
  }

  private closeText(out: AgUiEvent[]): void {
    if (!this.text) return;
    out.push(this.event(EventType.TEXT_MESSAGE_END, { messageId: this.text }));
    this.text = null;
  }

  private closeReasoning(out: AgUiEvent[]): void {
    if (!this.reasoning) return;
    const messageId = this.reasoning;
    out.push(
      this.event(EventType.REASONING_MESSAGE_END, { messageId }),
      this.event(EventType.REASONING_END, { messageId }),
    );
    this.reasoning = null;
  }

  private closeStreams(out: AgUiEvent[]): void {
    this.closeText(out);
    this.closeReasoning(out);
  }

  private closeAll(out: AgUiEvent[]): void {
    this.closeStreams(out);
    this.leaveStep(out);
  }

  // A sub-agent's work is a step of the run, named after the sub-agent.
  private enterStep(agent: string, out: AgUiEvent[]): void {
    const step = agent === this.ids.agent ? null : agent;
    if (step === this.step) return;
    this.closeStreams(out);
    this.leaveStep(out);
    if (step) out.push(this.event(EventType.STEP_STARTED, { stepName: step }));
    this.step = step;
  }

  private leaveStep(out: AgUiEvent[]): void {
    if (!this.step) return;
    out.push(this.event(EventType.STEP_FINISHED, { stepName: this.step }));
    this.step = null;
  }

  private custom(name: string, value: unknown): AgUiEvent {
    return this.event(EventType.CUSTOM, { name, value });
  }

  private event(type: EventType, fields: Record<string, unknown>, timestamp = this.at): AgUiEvent {
    return { type, timestamp, ...fields };
  }
}

// What a resume entry's payload may say about a tool approval (the interrupt's responseSchema).
export const APPROVAL_RESPONSE = {
  type: 'object',
  properties: {
    decision: { type: 'string', enum: ['approve', 'reject'], default: 'approve' },
    message: { type: 'string', maxLength: 2000 },
  },
  additionalProperties: false,
};

function errorOf(result: unknown): string {
  const error = (result as { error?: unknown } | null)?.error;
  return typeof error === 'string' ? error : 'the tool call failed';
}
