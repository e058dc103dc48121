import { EventType } from '@ag-ui/core';
import { RunEvent, RunEventType } from '../runs/run-event';
import { AgUiTranslator } from './ag-ui.translator';

const RUN = '00000000-0000-4000-8000-000000000001';
let seq = 0;
const event = (
  type: RunEventType,
  data: Record<string, unknown> = {},
  agent_name = 'supervisor',
): RunEvent => ({
  run_id: RUN,
  thread_id: 'thread',
  seq: ++seq,
  type,
  agent_name,
  data,
  timestamp: '2026-12-02T00:00:00.000Z',
});

function translateAll(events: RunEvent[], translator = newTranslator()) {
  return events.map((e) => translator.translate(e));
}
const newTranslator = (answered: string[] = []) =>
  new AgUiTranslator(
    { threadId: 't1', runId: 'r1', agent: 'supervisor' },
    new Set(answered),
    () => 1,
  );
const typesOf = (translated: ReturnType<typeof translateAll>) =>
  translated.flatMap((t) => t.events.map((e) => e.type));

describe('AgUiTranslator', () => {
  beforeEach(() => (seq = 0));

  it('wraps streamed text and reasoning in START/END pairs, one message per model turn', () => {
    const out = translateAll([
      event('agent_started'),
      event('agent_thinking', { text: 'hmm', step: 1 }),
      event('agent_thinking', { text: ' ok', step: 1 }),
      event('agent_response_chunk', { text: '17 * 23', step: 2 }),
      event('agent_response_chunk', { text: ' = 391.', step: 2 }),
      event('agent_completed', { answer: '17 * 23 = 391.' }),
    ]);
    expect(typesOf(out)).toEqual([
      EventType.REASONING_START,
      EventType.REASONING_MESSAGE_START,
      EventType.REASONING_MESSAGE_CONTENT,
      EventType.REASONING_MESSAGE_CONTENT,
      EventType.REASONING_MESSAGE_END,
      EventType.REASONING_END,
      EventType.TEXT_MESSAGE_START,
      EventType.TEXT_MESSAGE_CONTENT,
      EventType.TEXT_MESSAGE_CONTENT,
      EventType.TEXT_MESSAGE_END,
      EventType.RUN_FINISHED,
    ]);
    const finished = out[5].events.at(-1)!;
    expect(finished).toMatchObject({
      threadId: 't1',
      runId: 'r1',
      result: '17 * 23 = 391.',
      outcome: { type: 'success' },
    });
    expect(out.map((t) => t.final)).toEqual([false, false, false, false, false, true]);
    // Each AG-UI event carries the seq of the run event it came from.
    expect(out.map((t) => t.seq)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('shows a tool call once, with its arguments, and its result under a run-qualified id', () => {
    const call = { tool: 'calculator', call_id: 'call_1_1', arguments: { expression: '2 + 2' } };
    const out = translateAll([
      event('tool_executing', call),
      event('tool_completed', { ...call, result: { value: 4 }, is_error: false }),
      event('tool_completed', {
        ...call,
        call_id: 'call_1_2',
        result: { error: 'no' },
        is_error: true,
      }),
    ]);
    const id = `${RUN}-call_1_1`;
    expect(out[0].events).toEqual([
      { type: EventType.TOOL_CALL_START, timestamp: 1, toolCallId: id, toolCallName: 'calculator' },
      {
        type: EventType.TOOL_CALL_ARGS,
        timestamp: 1,
        toolCallId: id,
        delta: '{"expression":"2 + 2"}',
      },
      { type: EventType.TOOL_CALL_END, timestamp: 1, toolCallId: id },
    ]);
    expect(out[1].events).toEqual([
      {
        type: EventType.TOOL_CALL_RESULT,
        timestamp: 1,
        messageId: `${id}-result`,
        toolCallId: id,
        role: 'tool',
        content: '{"value":4}',
      },
    ]);
    expect(out[2].events[0]).toMatchObject({ error: 'no', content: '{"error":"no"}' });
  });

  it('ends the stream at an approval with an interrupt outcome, and does not show the call twice after it', () => {
    const call = { tool: 'notify', call_id: 'call_1_1', arguments: { message: 'done' } };
    const interrupt = { interrupt_id: 'i-1', ...call };
    const [asked] = translateAll([event('approval_required', interrupt)]);
    expect(asked.final).toBe(true);
    expect(asked.events.map((e) => e.type)).toEqual([
      EventType.TOOL_CALL_START,
      EventType.TOOL_CALL_ARGS,
      EventType.TOOL_CALL_END,
      EventType.RUN_FINISHED,
    ]);
    expect(asked.events[3]).toMatchObject({
      outcome: {
        type: 'interrupt',
        interrupts: [
          {
            id: 'i-1',
            reason: 'tool_approval',
            toolCallId: `${RUN}-call_1_1`,
            metadata: { run_id: RUN },
          },
        ],
      },
    });
    // The next AG-UI run (the resume) starts after approval_required.
    const resumed = translateAll([
      event('approval_resolved', { interrupt_id: 'i-1', decision: 'approve', ...call }),
      event('tool_executing', call),
      event('tool_completed', { ...call, result: { sent: true }, is_error: false }),
    ]);
    expect(typesOf(resumed)).toEqual([EventType.CUSTOM, EventType.TOOL_CALL_RESULT]);
  });

  it('replays an approval answered before the stream opened without ending there', () => {
    seq = 0;
    const call = { tool: 'notify', call_id: 'call_1_1', arguments: { message: 'done' } };
    const out = translateAll(
      [
        event('approval_required', { interrupt_id: 'i-1', ...call }),
        event('approval_resolved', { interrupt_id: 'i-1', decision: 'approve', ...call }),
        event('tool_executing', call),
        event('agent_completed', { answer: 'sent' }),
      ],
      newTranslator(['i-1']),
    );
    expect(out.map((t) => t.final)).toEqual([false, false, false, true]);
    expect(typesOf(out)).toEqual([
      EventType.TOOL_CALL_START,
      EventType.TOOL_CALL_ARGS,
      EventType.TOOL_CALL_END,
      EventType.CUSTOM,
      EventType.CUSTOM,
      EventType.RUN_FINISHED,
    ]);
  });

  it("puts a sub-agent's work in a step named after it, closed before the parent goes on", () => {
    const out = translateAll([
      event('tool_executing', { tool: 'delegate', call_id: 'call_1_1', arguments: {} }),
      event('agent_response_chunk', { text: 'found', step: 1 }, 'researcher'),
      event('tool_completed', {
        tool: 'delegate',
        call_id: 'call_1_1',
        result: 'found',
        is_error: false,
      }),
      event('agent_cancelled', { reason: 'cancelled by user' }),
    ]);
    expect(typesOf(out)).toEqual([
      EventType.TOOL_CALL_START,
      EventType.TOOL_CALL_ARGS,
      EventType.TOOL_CALL_END,
      EventType.STEP_STARTED,
      EventType.TEXT_MESSAGE_START,
      EventType.TEXT_MESSAGE_CONTENT,
      EventType.TEXT_MESSAGE_END,
      EventType.STEP_FINISHED,
      EventType.TOOL_CALL_RESULT,
      EventType.RUN_FINISHED,
    ]);
    expect(out[1].events[0]).toMatchObject({ stepName: 'researcher' });
    // The sub-agent's messages are its own, not the parent's step 1.
    expect(out[1].events[1]).toMatchObject({ messageId: `${RUN}-researcher-s1` });
    expect(out[3].events.at(-1)).toMatchObject({ outcome: { type: 'cancelled' } });
  });

  it('starts a new message for text streamed again after an agent_resumed that drops it', () => {
    const out = translateAll([
      event('agent_response_chunk', { text: 'par', step: 1 }),
      event('agent_resumed', { reason: 'answered differently', after_seq: 0, partial: 'dropped' }),
      event('agent_response_chunk', { text: 'partial', step: 1 }),
      event('agent_error', { message: 'boom', code: 'agent_failed' }),
    ]);
    expect(typesOf(out)).toEqual([
      EventType.TEXT_MESSAGE_START,
      EventType.TEXT_MESSAGE_CONTENT,
      EventType.TEXT_MESSAGE_END,
      EventType.CUSTOM,
      EventType.TEXT_MESSAGE_START,
      EventType.TEXT_MESSAGE_CONTENT,
      EventType.TEXT_MESSAGE_END,
      EventType.RUN_ERROR,
    ]);
    const ids = out.flatMap((t) => t.events).filter((e) => e.type === EventType.TEXT_MESSAGE_START);
    expect(ids[0].messageId).not.toEqual(ids[1].messageId);
    expect(out[3].events.at(-1)).toMatchObject({ message: 'boom', code: 'agent_failed' });
    expect(out[3].final).toBe(true);
  });

  it('continues the message in flight after an agent_resumed that keeps it', () => {
    const out = translateAll([
      event('agent_response_chunk', { text: 'The ans', step: 1 }),
      event('agent_resumed', { reason: 'picked up again', after_seq: 1, partial: 'kept' }),
      event('agent_response_chunk', { text: 'wer.', step: 1 }),
      event('agent_completed', { answer: 'The answer.' }),
    ]);
    expect(typesOf(out)).toEqual([
      EventType.TEXT_MESSAGE_START,
      EventType.TEXT_MESSAGE_CONTENT,
      EventType.CUSTOM,
      EventType.TEXT_MESSAGE_CONTENT,
      EventType.TEXT_MESSAGE_END,
      EventType.RUN_FINISHED,
    ]);
    const deltas = out
      .flatMap((t) => t.events)
      .filter((e) => e.type === EventType.TEXT_MESSAGE_CONTENT)
      .map((e) => (e as unknown as { delta: string }).delta);
    expect(deltas.join('')).toBe('The answer.');
  });
});
