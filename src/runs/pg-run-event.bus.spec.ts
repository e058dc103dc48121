import { parsePayload, parseRef, payloadOf, payloadsOf } from './pg-run-event.bus';
import { RunEvent } from './run-event';

const RUN = '3f0c5a8e-1d2b-4c6f-9a7e-2b4d6f8a0c1e';
const event = (seq: number, text = 'hm'): RunEvent => ({
  run_id: RUN,
  thread_id: '9b1d3f5a-7c9e-4b2d-8f6a-0c2e4a6b8d0f',
  seq,
  type: 'agent_thinking',
  agent_name: 'supervisor',
  data: { text },
  timestamp: '2026-01-01T00:00:00.000Z',
});

describe('the PostgreSQL bus payload', () => {
  it('carries the events of a commit when they fit, and they parse back equal', () => {
    const events = [event(4), event(5)];
    const payload = payloadOf({ run_id: RUN, seq: 5, events });
    expect(payload.startsWith(`${RUN}:5:`)).toBe(true);
    expect(parseRef(payload)).toEqual({ run_id: RUN, seq: 5, events });
  });

  it('carries only the seq when the events would not fit in a notification', () => {
    const big = [event(1, 'x'.repeat(8_000))];
    const payload = payloadOf({ run_id: RUN, seq: 1, events: big });
    expect(payload).toBe(`${RUN}:1`);
    expect(parseRef(payload)).toEqual({ run_id: RUN, seq: 1 });
  });

  it('keeps the seq and drops events that are not the contiguous events of that run', () => {
    const other = { ...event(5), run_id: '00000000-0000-4000-8000-000000000000' };
    for (const tail of ['not json', '[]', JSON.stringify([event(3)]), JSON.stringify([other])]) {
      expect(parseRef(`${RUN}:5:${tail}`)).toEqual({ run_id: RUN, seq: 5 });
    }
  });

  it('ignores a payload that is not a run reference', () => {
    for (const payload of ['', 'hello', `${RUN}`, `${RUN}:x`, undefined]) {
      expect(parseRef(payload)).toBeNull();
    }
  });

  it("packs a commit's runs into as few payloads as fit, each under the limit, in order", () => {
    const refs = Array.from({ length: 60 }, (_, i) => {
      const run = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
      return { run_id: run, seq: 7, events: [{ ...event(7, 'y'.repeat(100)), run_id: run }] };
    });

    const payloads = payloadsOf(refs);

    expect(payloads.length).toBeGreaterThan(1);
    expect(payloads.length).toBeLessThan(10);
    for (const payload of payloads) expect(Buffer.byteLength(payload)).toBeLessThan(8_000);
    expect(payloads.flatMap(parsePayload)).toEqual(refs);
  });

  it('keeps the runs of a payload whose lines are not all ours', () => {
    const line = payloadOf({ run_id: RUN, seq: 2 });
    expect(parsePayload(`garbage\n${line}\n`)).toEqual([{ run_id: RUN, seq: 2 }]);
    expect(parsePayload(undefined)).toEqual([]);
  });
});
