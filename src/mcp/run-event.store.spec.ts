import { RunEvent } from '../runs/run-event';
import { progressOf, resultOf } from './mcp-messages';
import { eventId, parseEventId, RunEventStore } from './run-event.store';

const RUN = '3f0c5a8e-1d2b-4c6f-9a7e-2b4d6f8a0c1e';
const event = (
  seq: number,
  type: RunEvent['type'],
  data: Record<string, unknown> = {},
): RunEvent => ({
  run_id: RUN,
  thread_id: 'thread',
  seq,
  type,
  agent_name: 'supervisor',
  data,
  timestamp: '2026-12-02T00:00:00.000Z',
});

describe('RunEventStore', () => {
  it('names a progress notification and the result by run, seq and call, and reads the name back', async () => {
    const store = new RunEventStore(() => Promise.resolve());
    const call = { runId: RUN, requestId: 7, progressToken: 7 };
    const progress = progressOf(call, event(3, 'tool_executing', { tool: 'calculator' }))!;
    const id = await store.storeEvent('s', { jsonrpc: '2.0', ...progress });
    expect(parseEventId(id)).toEqual({ runId: RUN, seq: 3, requestId: 7, progressToken: 7 });

    const result = resultOf(event(9, 'agent_completed', { answer: '42' }), new Set())!;
    const resultId = await store.storeEvent('s', { jsonrpc: '2.0', id: 'req-1', result });
    expect(parseEventId(resultId)).toEqual({ runId: RUN, seq: 9, requestId: 'req-1' });
  });

  it('gives messages about no run ids that cannot be resumed', async () => {
    const store = new RunEventStore(() => Promise.resolve());
    const id = await store.storeEvent('s', { jsonrpc: '2.0', id: 1, result: {} });
    expect(parseEventId(id)).toBeNull();
    await expect(store.replayEventsAfter(id, { send: () => Promise.resolve() })).rejects.toThrow();
  });

  it.each([
    '',
    'x',
    `${RUN}.1`,
    `${RUN}.1.!!`,
    `${RUN}.-1.${Buffer.from('[1,null]').toString('base64url')}`,
    `${RUN}.1.${Buffer.from('{"a":1}').toString('base64url')}`,
  ])('refuses the event id %p', (id) => {
    expect(parseEventId(id)).toBeNull();
  });

  it('replays after the cursor an id names', async () => {
    const seen: unknown[] = [];
    const store = new RunEventStore((cursor) => {
      seen.push(cursor);
      return Promise.resolve();
    });
    const id = eventId({ runId: RUN, seq: 4, requestId: 'a', progressToken: 'p' });
    await expect(store.replayEventsAfter(id, { send: () => Promise.resolve() })).resolves.toBe(
      `run-${RUN}`,
    );
    expect(seen).toEqual([{ runId: RUN, seq: 4, requestId: 'a', progressToken: 'p' }]);
  });
});

describe('resultOf', () => {
  it('answers at the end of the run and at a pending approval, not at one already answered', () => {
    const asked = event(5, 'approval_required', {
      interrupt_id: 'i1',
      tool: 'notify',
      arguments: {},
    });
    expect(resultOf(asked, new Set())).toMatchObject({
      isError: false,
      structuredContent: { status: 'requires_action', interrupt_id: 'i1', run_id: RUN },
    });
    expect(resultOf(asked, new Set(['i1']))).toBeNull();
    expect(resultOf(event(6, 'tool_completed'), new Set())).toBeNull();
    expect(
      resultOf(event(7, 'agent_error', { message: 'boom', code: 'x' }), new Set()),
    ).toMatchObject({
      isError: true,
      structuredContent: { status: 'failed', error: 'boom', code: 'x' },
    });
    expect(resultOf(event(8, 'agent_cancelled', { reason: 'r' }), new Set())).toMatchObject({
      isError: true,
      structuredContent: { status: 'cancelled' },
    });
  });

  it('sends no progress to a call that asked for none', () => {
    expect(progressOf({ runId: RUN, requestId: 1 }, event(1, 'agent_started'))).toBeNull();
  });
});
