import { encodeOnce } from './run-event.encoding';
import { RunEvent } from './run-event';

const event = (seq: number) =>
  ({ run_id: 'r', thread_id: 't', seq, type: 'agent_thinking', data: {} }) as unknown as RunEvent;

describe('encodeOnce', () => {
  it('encodes an event once per format, however many deliveries ask', () => {
    const encode = jest.fn((e: RunEvent) => JSON.stringify(e));
    const shared = event(1);
    const forms = Array.from({ length: 5 }, () => encodeOnce(shared, 'json', encode));
    expect(encode).toHaveBeenCalledTimes(1);
    expect(new Set(forms).size).toBe(1);
    expect(JSON.parse(forms[0])).toMatchObject({ seq: 1 });
  });

  it('keeps formats and events apart', () => {
    const a = event(1);
    const b = event(1);
    expect(encodeOnce(a, 'x', () => 'a-x')).toBe('a-x');
    expect(encodeOnce(a, 'y', () => 'a-y')).toBe('a-y');
    expect(encodeOnce(b, 'x', () => 'b-x')).toBe('b-x');
    expect(encodeOnce(a, 'x', () => 'again')).toBe('a-x');
  });
});
