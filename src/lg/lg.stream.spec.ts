import { RunEvent, RunEventType } from '../runs/run-event';
import { LgTranslator } from './lg.stream';
import { LcMessage } from './lg.views';

const RUN = '3f0c5a8e-1d2b-4c6f-9a7e-2b4d6f8a0c1e';
let seq = 0;
const event = (
  type: RunEventType,
  data: Record<string, unknown> = {},
  agent = 'supervisor',
): RunEvent => ({
  run_id: RUN,
  thread_id: 't',
  seq: ++seq,
  type,
  agent_name: agent,
  data,
  timestamp: '2026-12-02T00:00:00.000Z',
});
const question: LcMessage = {
  type: 'human',
  content: 'q',
  id: 'm1',
  response_metadata: { run_id: RUN },
};
const call = { tool: 'calculator', call_id: 'call_1_1', arguments: { expression: '2 + 2' } };

describe('LgTranslator', () => {
  beforeEach(() => (seq = 0));

  it('sends only the modes asked for, each event once, in LangGraph shapes', () => {
    const t = new LgTranslator(['updates', 'messages-tuple'], [question], new Set(), 'supervisor');
    expect(t.opened()).toEqual([]);
    const out = [
      event('tool_executing', call),
      event('tool_completed', { ...call, result: { value: 4 }, is_error: false }),
      event('agent_response_chunk', { text: '4', step: 2 }),
      event('agent_completed', { answer: '4' }),
    ].map((e) => t.translate(e));
    expect(out.map((o) => o.parts.map((p) => p.event))).toEqual([
      ['updates'],
      ['updates'],
      ['messages'],
      ['updates'],
    ]);
    expect(out[0].parts[0].data).toMatchObject({
      supervisor: {
        messages: [
          { type: 'ai', tool_calls: [{ name: 'calculator', args: { expression: '2 + 2' } }] },
        ],
      },
    });
    expect(out[1].parts[0].data).toMatchObject({
      tools: { messages: [{ type: 'tool', content: '{"value":4}' }] },
    });
    expect(out[2].parts[0].data).toEqual([
      { type: 'AIMessageChunk', content: '4', id: `${RUN}-supervisor-s2` },
      { langgraph_node: 'supervisor', langgraph_step: 2, run_id: RUN },
    ]);
    expect(out.map((o) => o.final)).toEqual([false, false, false, true]);
  });

  it('ends at a pending approval with __interrupt__, and goes on past an answered one', () => {
    const asked = { interrupt_id: 'i1', tool: 'notify', call_id: 'call_1_1', arguments: {} };
    const pending = new LgTranslator(['values', 'updates'], [question], new Set(), 'supervisor');
    const stop = pending.translate(event('approval_required', asked));
    expect(stop.final).toBe(true);
    expect(stop.parts.map((p) => p.event)).toEqual(['updates', 'values']);
    expect(stop.parts[0].data).toMatchObject({
      __interrupt__: [{ id: 'i1', value: { tool: 'notify', run_id: RUN } }],
    });
    const answered = new LgTranslator(['values'], [question], new Set(['i1']), 'supervisor');
    expect(answered.translate(event('approval_required', asked))).toMatchObject({
      parts: [],
      final: false,
    });
  });

  it('replaying a finished run, puts its stored answer last once, not twice', () => {
    const answer: LcMessage = {
      type: 'ai',
      content: 'done',
      id: 'm2',
      response_metadata: { run_id: RUN },
    };
    const t = new LgTranslator(['values'], [question, answer], new Set(), 'supervisor');
    t.translate(event('tool_executing', call));
    const end = t.translate(event('agent_completed', { answer: 'done' }));
    const messages = (end.parts.at(-1)!.data as { messages: LcMessage[] }).messages;
    expect(messages.map((m) => m.type)).toEqual(['human', 'ai', 'ai']);
    expect(messages.at(-1)).toBe(answer);
  });
});
