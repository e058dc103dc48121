import { EventCoalescer, Streamed, StreamedKind } from './event-coalescer';
import { deferred } from '../../test/fixtures/agent-loop.fixture';

// A coalescer whose writes are recorded and succeed at once, unless `write` is replaced. `writes`
// lists the events written, `batches` the writes (one per call, each with its events).
function setup(
  options: { maxDelayMs?: number; maxChars?: number } = {},
  write?: (events: Streamed[]) => Promise<void>,
) {
  const writes: Streamed[] = [];
  const batches: Streamed[][] = [];
  const writer = jest.fn((events: Streamed[]) => {
    const copy = events.map((e) => ({ ...e }));
    batches.push(copy);
    writes.push(...copy);
    return write ? write(copy) : Promise.resolve();
  });
  const coalescer = new EventCoalescer(writer, options.maxDelayMs, options.maxChars);
  return { coalescer, writes, batches, writer };
}

// Pushes text the way a model streams it: one small delta at a time.
function pushWords(coalescer: EventCoalescer, kind: StreamedKind, text: string): void {
  for (const piece of text.match(/\S+\s*/g) ?? []) coalescer.push(kind, piece);
}

const LONG_ANSWER = 'The quick brown fox jumps over the lazy dog. '.repeat(40); // 1800 characters

describe('EventCoalescer', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('turns many deltas into few writes, losing nothing', async () => {
    const { coalescer, writes } = setup();

    pushWords(coalescer, 'agent_response_chunk', LONG_ANSWER);
    await coalescer.drain();

    expect(writes.length).toBeLessThanOrEqual(10);
    expect(writes.map((w) => w.text).join('')).toBe(LONG_ANSWER);
    expect(writes.every((w) => w.kind === 'agent_response_chunk')).toBe(true);
  });

  it('writes the first delta of each kind at once, so the first words wait for nothing', async () => {
    const { coalescer, writes } = setup({ maxDelayMs: 50 });

    coalescer.push('agent_thinking', 'Hmm');
    await jest.advanceTimersByTimeAsync(0);
    expect(writes).toEqual([{ kind: 'agent_thinking', text: 'Hmm' }]);

    coalescer.push('agent_thinking', ', well');
    coalescer.push('agent_response_chunk', 'The');
    await jest.advanceTimersByTimeAsync(0);
    expect(writes.slice(1)).toEqual([
      { kind: 'agent_thinking', text: ', well' },
      { kind: 'agent_response_chunk', text: 'The' },
    ]);

    // Back to a kind already begun in this turn: coalesced again.
    coalescer.push('agent_thinking', 'again');
    await jest.advanceTimersByTimeAsync(0);
    expect(writes).toHaveLength(3);
  });

  it('holds text below maxChars until it is flushed', async () => {
    const { coalescer, writes } = setup({ maxChars: 10 });

    coalescer.push('agent_thinking', 'first');
    coalescer.push('agent_thinking', 'abc');
    coalescer.push('agent_thinking', 'def');
    await jest.advanceTimersByTimeAsync(0);
    expect(writes).toEqual([{ kind: 'agent_thinking', text: 'first' }]);

    await coalescer.drain();

    expect(writes).toEqual([
      { kind: 'agent_thinking', text: 'first' },
      { kind: 'agent_thinking', text: 'abcdef' },
    ]);
  });

  it('writes as soon as the held text reaches maxChars', async () => {
    const { coalescer, writes } = setup({ maxChars: 10 });

    coalescer.push('agent_response_chunk', 'first');
    await jest.advanceTimersByTimeAsync(0); // written, so nothing is in flight
    coalescer.push('agent_response_chunk', '12345');
    coalescer.push('agent_response_chunk', '67890');
    coalescer.push('agent_response_chunk', 'ab');
    await jest.advanceTimersByTimeAsync(0); // no timer is due: only the size triggered a write

    expect(writes.slice(1)).toEqual([{ kind: 'agent_response_chunk', text: '1234567890' }]);
  });

  it('writes a delta longer than maxChars as events of at most maxChars, in one write', async () => {
    const { coalescer, batches } = setup({ maxChars: 10 });

    coalescer.push('agent_response_chunk', 'x'.repeat(25));
    await jest.advanceTimersByTimeAsync(0);

    expect(batches).toEqual([
      [
        { kind: 'agent_response_chunk', text: 'x'.repeat(10) },
        { kind: 'agent_response_chunk', text: 'x'.repeat(10) },
        { kind: 'agent_response_chunk', text: 'x'.repeat(5) },
      ],
    ]);
  });

  it('never splits a character made of two UTF-16 units', async () => {
    const { coalescer, writes } = setup({ maxChars: 3 });
    const text = 'ab😀c😀😀';

    coalescer.push('agent_response_chunk', text);
    await coalescer.drain();

    expect(writes.map((w) => w.text).join('')).toBe(text);
    for (const { text: piece } of writes) {
      expect(piece.length).toBeLessThanOrEqual(3);
      expect(Buffer.from(piece, 'utf8').toString('utf8')).toBe(piece); // no lone surrogate
    }
  });

  it('keeps the order of the kinds, each stretch of one kind an event of its own', async () => {
    const { coalescer, writes } = setup();

    coalescer.push('agent_thinking', 'Let me ');
    coalescer.push('agent_thinking', 'think.');
    coalescer.push('agent_response_chunk', 'The answer ');
    coalescer.push('agent_response_chunk', 'is 4.');
    coalescer.push('agent_thinking', 'Done.');
    await coalescer.drain();

    // The first delta of each kind goes at once; the rest waits for the write in flight.
    expect(writes).toEqual([
      { kind: 'agent_thinking', text: 'Let me ' },
      { kind: 'agent_thinking', text: 'think.' },
      { kind: 'agent_response_chunk', text: 'The answer is 4.' },
      { kind: 'agent_thinking', text: 'Done.' },
    ]);
  });

  it('writes held text once it has waited maxDelayMs', async () => {
    const { coalescer, writes } = setup({ maxDelayMs: 50 });

    coalescer.push('agent_response_chunk', 'Say: ');
    coalescer.push('agent_response_chunk', 'Hel');
    await jest.advanceTimersByTimeAsync(30);
    coalescer.push('agent_response_chunk', 'lo');
    await jest.advanceTimersByTimeAsync(19);
    expect(writes.map((w) => w.text)).toEqual(['Say: ']);

    await jest.advanceTimersByTimeAsync(1); // 50 ms after the first held delta, not the last

    expect(writes.map((w) => w.text)).toEqual(['Say: ', 'Hello']);
  });

  it('starts a new delay after a timed write', async () => {
    const { coalescer, writes } = setup({ maxDelayMs: 50 });

    coalescer.push('agent_response_chunk', 'one ');
    await jest.advanceTimersByTimeAsync(50);
    coalescer.push('agent_response_chunk', 'two');
    await jest.advanceTimersByTimeAsync(49);
    expect(writes.map((w) => w.text)).toEqual(['one ']);

    await jest.advanceTimersByTimeAsync(1);

    expect(writes.map((w) => w.text)).toEqual(['one ', 'two']);
  });

  it('writes one at a time, in order', async () => {
    const first = deferred();
    const { coalescer, writes } = setup({ maxChars: 3 }, ([event]) =>
      event.text === 'aaa' ? first.promise : Promise.resolve(),
    );

    coalescer.push('agent_response_chunk', 'aaa');
    coalescer.push('agent_response_chunk', 'bbb');
    await jest.advanceTimersByTimeAsync(0);
    expect(writes.map((w) => w.text)).toEqual(['aaa']); // bbb waits for aaa

    first.resolve();
    await coalescer.drain();

    expect(writes.map((w) => w.text)).toEqual(['aaa', 'bbb']);
  });

  it('merges everything that arrives during a slow write into the one write after it', async () => {
    const slow = deferred();
    const { coalescer, batches } = setup({ maxChars: 80, maxDelayMs: 10 }, ([event]) =>
      event.text === 'first' ? slow.promise : Promise.resolve(),
    );

    coalescer.push('agent_response_chunk', 'first');
    // A long stall: many flushes' worth of waiting, then a new kind.
    for (let i = 0; i < 20; i += 1) {
      coalescer.push('agent_response_chunk', `${i} `);
      await jest.advanceTimersByTimeAsync(10);
    }
    coalescer.push('agent_thinking', 'hm');
    coalescer.push('agent_response_chunk', 'end');
    await jest.advanceTimersByTimeAsync(100);
    expect(batches).toHaveLength(1); // nothing queued behind the write in flight

    slow.resolve();
    await coalescer.drain();

    const numbers = Array.from({ length: 20 }, (_, i) => `${i} `).join('');
    expect(batches).toEqual([
      [{ kind: 'agent_response_chunk', text: 'first' }],
      [
        { kind: 'agent_response_chunk', text: numbers },
        { kind: 'agent_thinking', text: 'hm' },
        { kind: 'agent_response_chunk', text: 'end' },
      ],
    ]);
  });

  it('drain() writes what is held and waits for every write to finish', async () => {
    const pending = deferred();
    const { coalescer, writes } = setup({}, () => pending.promise);
    let drained = false;

    coalescer.push('agent_thinking', 'held');
    const draining = coalescer.drain().then(() => (drained = true));
    await jest.advanceTimersByTimeAsync(0);
    expect(writes).toEqual([{ kind: 'agent_thinking', text: 'held' }]);
    expect(drained).toBe(false);

    pending.resolve();
    await draining;

    expect(drained).toBe(true);
  });

  it('rest() waits for the write in flight and hands back what is held, unwritten', async () => {
    const pending = deferred();
    const { coalescer, writes } = setup({ maxChars: 4 }, () => pending.promise);

    coalescer.push('agent_thinking', 'Hmm'); // first of its kind: written at once
    coalescer.push('agent_response_chunk', 'The answer'); // due while the first is in flight
    let rest: Streamed[] | null = null;
    const resting = coalescer.rest().then((events) => (rest = events));
    await jest.advanceTimersByTimeAsync(100);
    expect(rest).toBeNull();

    pending.resolve();
    await resting;

    expect(writes).toEqual([{ kind: 'agent_thinking', text: 'Hmm' }]);
    expect(rest).toEqual([
      { kind: 'agent_response_chunk', text: 'The ' },
      { kind: 'agent_response_chunk', text: 'answ' },
      { kind: 'agent_response_chunk', text: 'er' },
    ]);
  });

  it('rest() rethrows a failed write', async () => {
    const cancelled = new Error('run cancelled');
    const { coalescer } = setup({}, () => Promise.reject(cancelled));

    coalescer.push('agent_response_chunk', 'aaa');

    await expect(coalescer.rest()).rejects.toBe(cancelled);
  });

  it('drain() with nothing held writes nothing', async () => {
    const { coalescer, writer } = setup();

    await coalescer.drain();

    expect(writer).not.toHaveBeenCalled();
  });

  it('drain() rethrows a failed write and skips the writes after it', async () => {
    const cancelled = new Error('run cancelled');
    const { coalescer, writes } = setup({ maxChars: 3 }, ([event]) =>
      event.text === 'aaa' ? Promise.reject(cancelled) : Promise.resolve(),
    );

    coalescer.push('agent_response_chunk', 'aaa');
    coalescer.push('agent_response_chunk', 'bbb');

    await expect(coalescer.drain()).rejects.toBe(cancelled);
    expect(writes.map((w) => w.text)).toEqual(['aaa']);
  });

  it('reports a write that failed with something other than an Error as an Error', async () => {
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    const { coalescer } = setup({}, () => Promise.reject('disk full'));

    coalescer.push('agent_thinking', 'x');
    const drained = coalescer.drain();

    await expect(drained).rejects.toBeInstanceOf(Error);
    await expect(drained).rejects.toThrow('disk full');
  });

  it('refuses a push after a write failed', async () => {
    const cancelled = new Error('run cancelled');
    const { coalescer } = setup({ maxDelayMs: 50 }, () => Promise.reject(cancelled));

    coalescer.push('agent_response_chunk', 'first');
    await jest.advanceTimersByTimeAsync(50);

    expect(() => coalescer.push('agent_response_chunk', 'second')).toThrow(cancelled);
  });

  it('discard() drops what is held without writing it', async () => {
    const { coalescer, writer } = setup({ maxDelayMs: 50 });

    coalescer.push('agent_response_chunk', 'half ');
    coalescer.push('agent_response_chunk', 'an answer');
    coalescer.discard();
    await jest.advanceTimersByTimeAsync(100);
    await coalescer.drain();

    expect(writer.mock.calls).toEqual([[[{ kind: 'agent_response_chunk', text: 'half ' }]]]);
  });
});
