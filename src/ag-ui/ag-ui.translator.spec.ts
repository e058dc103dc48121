import { EventType } from '@ag-ui/core';
import { RunEvent, RunEventType } from '../runs/run-event';
import { DomainError } from '../common/domain.error';
import {
  AgUiTranslator,
  framesOf,
  parseLastEventId,
  ResumePoint,
  STARTED_ID,
} from './ag-ui.translator';

const RUN = '00000000-0000-4000-8000-000000000001';
const AT = Date.parse('2026-12-02T00:00:00.000Z');
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
      {
        type: EventType.TOOL_CALL_START,
        timestamp: AT,
        toolCallId: id,
        toolCallName: 'calculator',
      },
      {
        type: EventType.TOOL_CALL_ARGS,
        timestamp: AT,
        toolCallId: id,
        delta: '{"expression":"2 + 2"}',
      },
      { type: EventType.TOOL_CALL_END, timestamp: AT, toolCallId: id },
    ]);
    expect(out[1].events).toEqual([
      {
        type: EventType.TOOL_CALL_RESULT,
        timestamp: AT,
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

  it('stamps each AG-UI event with the time of its run event, so a replay makes the same events', () => {
    const events = [
      event('agent_response_chunk', { text: 'Done', step: 1 }),
      { ...event('agent_completed', { answer: 'Done' }), timestamp: '2026-12-02T00:00:01.500Z' },
    ];
    const ids = { threadId: 't1', runId: 'r1', agent: 'supervisor' };
    const live = translateAll(events, new AgUiTranslator(ids, new Set(), () => 1));
    const replayed = translateAll(events, new AgUiTranslator(ids, new Set(), () => 2));
    expect(replayed).toEqual(live);
    expect(live.flatMap((t) => t.events.map((e) => e.timestamp))).toEqual([
      AT,
      AT,
      AT + 1500,
      AT + 1500,
    ]);
    // RUN_STARTED is sent by a new stream only, never replayed: it is stamped when it is sent.
    expect(newTranslator().started()).toEqual({
      type: EventType.RUN_STARTED,
      timestamp: 1,
      threadId: 't1',
      runId: 'r1',
    });
  });

  describe('frame ids', () => {
    const order = (id: string) => parseLastEventId(id)!;

    it('are <seq>.<n> for the n-th AG-UI event of run event seq, after RUN_STARTED 0', () => {
      const out = translateAll([
        event('agent_started'),
        event('agent_response_chunk', { text: 'Done', step: 1 }),
        event('agent_completed', { answer: 'Done' }),
      ]);
      const frames = out.flatMap((t) => framesOf(t));
      expect(frames.map((f) => f.id)).toEqual(['2.0', '2.1', '3.0', '3.1']);
      expect(frames.map((f) => f.event)).toEqual(out.flatMap((t) => t.events));
      // Increasing by seq, then n.
      const points = [STARTED_ID, ...frames.map((f) => f.id)].map(order);
      for (const [i, point] of points.slice(1).entries()) {
        const before = points[i];
        expect(point.seq > before.seq || (point.seq === before.seq && point.n! > before.n!)).toBe(
          true,
        );
      }
    });

    it('leave out the frames at or before a resume point', () => {
      const [tools] = translateAll([
        event('tool_executing', { tool: 'calculator', call_id: 'call_1_1', arguments: {} }),
      ]);
      const ids = (after?: ResumePoint) => framesOf(tools, after).map((f) => f.id);
      expect(ids()).toEqual(['1.0', '1.1', '1.2']);
      expect(ids({ seq: 1, n: 0 })).toEqual(['1.1', '1.2']);
      expect(ids({ seq: 1, n: 2 })).toEqual([]);
      // A bare seq: after all of its frames.
      expect(ids({ seq: 1 })).toEqual([]);
      expect(ids({ seq: 0 })).toEqual(['1.0', '1.1', '1.2']);
      expect(ids({ seq: 0, n: 7 })).toEqual(['1.0', '1.1', '1.2']);
      expect(ids({ seq: 2, n: 0 })).toEqual([]);
    });

    it('come back from a Last-Event-ID: <seq>.<n>, a bare seq, or none', () => {
      expect(parseLastEventId(undefined)).toBeUndefined();
      expect(parseLastEventId('')).toBeUndefined();
      expect(parseLastEventId('12.3')).toEqual({ seq: 12, n: 3 });
      expect(parseLastEventId(' 7 ')).toEqual({ seq: 7 });
      expect(parseLastEventId(STARTED_ID)).toEqual({ seq: 0 });
      for (const bad of ['abc', '1.', '.1', '1.2.3', '-1', '1e3', '1234567890', '1.1234567']) {
        let thrown: unknown;
        try {
          parseLastEventId(bad);
        } catch (err) {
          thrown = err;
        }
        expect(thrown).toBeInstanceOf(DomainError);
        expect(thrown).toMatchObject({
          code: 'validation_failed',
          details: { errors: [{ field: 'Last-Event-ID' }] },
        });
      }
    });
  });

  it('resumed after any frame, a replay from the start goes on with exactly the frames that followed it', () => {
    // Reasoning, text open across events, a sub-agent's step, a tool call: what a resume from the
    // middle must have rebuilt, not opened again.
    const events = [
      event('agent_started'),
      event('agent_thinking', { text: 'hmm', step: 1 }),
      event('agent_response_chunk', { text: 'Let me', step: 1 }),
      event('agent_response_chunk', { text: ' ask.', step: 1 }),
      event('tool_executing', { tool: 'delegate', call_id: 'call_1_1', arguments: {} }),
      event('agent_response_chunk', { text: 'found', step: 1 }, 'researcher'),
      event('agent_response_chunk', { text: ' it', step: 1 }, 'researcher'),
      event('tool_completed', {
        tool: 'delegate',
        call_id: 'call_1_1',
        result: 'found it',
        is_error: false,
      }),
      event('agent_response_chunk', { text: 'Done', step: 2 }),
      event('agent_completed', { answer: 'Done' }),
    ];
    const stream = translateAll(events).flatMap((t) => framesOf(t));
    // After RUN_STARTED (0), then after each frame.
    const cuts = [STARTED_ID, ...stream.map((f) => f.id)];
    for (const [i, cut] of cuts.entries()) {
      const translator = newTranslator();
      const after = parseLastEventId(cut);
      const resumed = events.flatMap((e) => framesOf(translator.translate(e), after));
      expect(resumed).toEqual(stream.slice(i));
    }
  });
});
