import { RunEvent } from '../runs/run-event';
import { interruptOf, LcMessage } from './lg.views';

export const STREAM_MODES = ['values', 'updates', 'messages-tuple', 'messages', 'events'] as const;
export type StreamMode = (typeof STREAM_MODES)[number];

// One SSE part of an Agent Protocol stream: `event` is the stream mode it belongs to.
export interface LgPart {
  event: string;
  data: unknown;
}

export interface LgTranslated {
  seq: number;
  parts: LgPart[];
  // The run ended, or waits for a person: the stream ends after these parts.
  final: boolean;
}

// Turns one run's events into the stream modes a client asked for. `values` is the thread's
// `messages` state (the history when the stream opened, then each answer); `updates` what each
// agent (node) added; `messages-tuple` the answer's text chunks as [AIMessageChunk, metadata];
// `events` the run events in LangChain's astream_events shape. A pending approval is an
// interrupt (`__interrupt__`) and ends the stream, as the run now waits for a Command resume.
export class LgTranslator {
  private readonly modes: Set<string>;
  private messages: LcMessage[];

  constructor(
    modes: string[],
    history: LcMessage[],
    private readonly answered: ReadonlySet<string>,
    private readonly agent: string,
  ) {
    this.modes = new Set(modes.map((m) => (m === 'messages' ? 'messages-tuple' : m)));
    this.messages = [...history];
  }

  // What the stream opens with (after the metadata part).
  opened(): LgPart[] {
    return this.modes.has('values') ? [{ event: 'values', data: { messages: this.messages } }] : [];
  }

  translate(event: RunEvent): LgTranslated {
    const parts: LgPart[] = [];
    const data = event.data;
    const node = event.agent_name;
    const callId = `${event.run_id}-${node}-${String(data.call_id)}`;
    this.asEvents(event, parts);
    let final = false;
    switch (event.type) {
      case 'agent_response_chunk':
        if (this.modes.has('messages-tuple')) {
          parts.push({
            event: 'messages',
            data: [
              {
                type: 'AIMessageChunk',
                content: data.text,
                id: `${event.run_id}-${node}-s${Number(data.step ?? 0)}`,
              },
              { langgraph_node: node, langgraph_step: data.step, run_id: event.run_id },
            ],
          });
        }
        break;
      case 'tool_executing':
        this.update(
          node,
          {
            type: 'ai',
            content: '',
            id: `${callId}-call`,
            tool_calls: [{ id: callId, name: data.tool, args: data.arguments ?? {} }],
          },
          parts,
        );
        break;
      case 'tool_completed':
        this.update(
          'tools',
          {
            type: 'tool',
            content: JSON.stringify(data.result ?? null),
            id: `${callId}-result`,
            tool_call_id: callId,
            name: data.tool,
            status: data.is_error ? 'error' : 'success',
          },
          parts,
        );
        break;
      case 'approval_required': {
        if (this.answered.has(String(data.interrupt_id))) break;
        const interrupt = interruptOf({
          interrupt_id: String(data.interrupt_id),
          tool: String(data.tool),
          arguments: (data.arguments ?? {}) as Record<string, unknown>,
          run_id: event.run_id,
        });
        if (this.modes.has('updates'))
          parts.push({ event: 'updates', data: { __interrupt__: [interrupt] } });
        if (this.modes.has('values')) {
          parts.push({
            event: 'values',
            data: { messages: this.messages, __interrupt__: [interrupt] },
          });
        }
        final = true;
        break;
      }
      case 'agent_completed':
        if (node === this.agent) {
          const answer: LcMessage = {
            type: 'ai',
            content: String(data.answer),
            id: `${event.run_id}-answer`,
            response_metadata: { run_id: event.run_id },
          };
          // Replaying a finished run, the thread's history has its answer already: it moves to
          // the end, after the tool calls replayed since.
          const isStored = (m: LcMessage) =>
            m.type === 'ai' &&
            (m.response_metadata as { run_id?: string })?.run_id === event.run_id;
          const stored = this.messages.find(isStored);
          this.messages = this.messages.filter((m) => !isStored(m));
          this.update(node, stored ?? answer, parts);
          if (this.modes.has('values'))
            parts.push({ event: 'values', data: { messages: this.messages } });
        }
        final = true;
        break;
      case 'agent_error':
        parts.push({
          event: 'error',
          data: {
            error: typeof data.code === 'string' ? data.code : 'agent_error',
            message: data.message,
          },
        });
        final = true;
        break;
      case 'agent_cancelled':
        final = true;
        break;
      // Only the events mode shows these.
      case 'agent_started':
      case 'agent_thinking':
      case 'tool_progress':
      case 'approval_resolved':
      case 'agent_resumed':
        break;
    }
    return { seq: event.seq, parts, final };
  }

  // A message an agent (node) added: an `updates` part, and the next `values`.
  private update(node: string, message: LcMessage, parts: LgPart[]): void {
    this.messages = [...this.messages, message];
    if (this.modes.has('updates'))
      parts.push({ event: 'updates', data: { [node]: { messages: [message] } } });
  }

  private asEvents(event: RunEvent, parts: LgPart[]): void {
    if (!this.modes.has('events')) return;
    const name = EVENT_NAMES[event.type];
    parts.push({
      event: 'events',
      data: {
        event: name,
        name: event.type.startsWith('tool_') ? event.data.tool : event.agent_name,
        run_id: event.run_id,
        data:
          name === 'on_chat_model_stream' ? { chunk: { content: event.data.text } } : event.data,
        metadata: { langgraph_node: event.agent_name, seq: event.seq, type: event.type },
      },
    });
  }
}

// Our event types as LangChain's astream_events names (a custom event where none fits).
const EVENT_NAMES: Record<RunEvent['type'], string> = {
  agent_started: 'on_chain_start',
  agent_thinking: 'on_custom_event',
  agent_response_chunk: 'on_chat_model_stream',
  tool_executing: 'on_tool_start',
  tool_progress: 'on_custom_event',
  tool_completed: 'on_tool_end',
  approval_required: 'on_custom_event',
  approval_resolved: 'on_custom_event',
  agent_resumed: 'on_custom_event',
  agent_completed: 'on_chain_end',
  agent_error: 'on_chain_error',
  agent_cancelled: 'on_custom_event',
};
