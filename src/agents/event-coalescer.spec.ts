import { EventCoalescer, StreamedKind } from './event-coalescer';

interface Write {
  kind: StreamedKind;
  text: string;
}

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

// A coalescer whose writes are recorded and succeed at once, unless `write` is replaced.
function setup(
  options: { maxDelayMs?: number; maxChars?: number } = {},
  write?: (kind: StreamedKind, text: string) => Promise<void>,
) {
  const writes: Write[] = [];
  const writer = jest.fn((kind: StreamedKind, text: string) => {
    writes.push({ kind, text });
    return write ? write(kind, text) : Promise.resolve();
  });
  const coalescer = new EventCoalescer(writer, options.maxDelayMs, options.maxChars);
  return { coalescer, writes, writer };
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
    const { coalescer, writer } = setup({ maxChars: 10 });

    coalescer.push('agent_thinking', 'first');
    coalescer.push('agent_thinking', 'abc');
    coalescer.push('agent_thinking', 'def');
    await jest.advanceTimersByTimeAsync(0);
    expect(writer.mock.calls).toEqual([['agent_thinking', 'first']]);

    await coalescer.drain();

    expect(writer.mock.calls).toEqual([
      ['agent_thinking', 'first'],
      ['agent_thinking', 'abcdef'],
    ]);
  });

  it('writes as soon as the held text reaches maxChars', async () => {
    const { coalescer, writes } = setup({ maxChars: 10 });

    coalescer.push('agent_response_chunk', 'first');
    coalescer.push('agent_response_chunk', '12345');
    coalescer.push('agent_response_chunk', '67890');
    coalescer.push('agent_response_chunk', 'ab');
    await jest.advanceTimersByTimeAsync(0); // no timer is due: only the size triggered a write

    expect(writes.slice(1)).toEqual([{ kind: 'agent_response_chunk', text: '1234567890' }]);
  });

  it('writes a delta longer than maxChars whole', async () => {
    const { coalescer, writes } = setup({ maxChars: 10 });

    coalescer.push('agent_response_chunk', 'x'.repeat(25));
    await jest.advanceTimersByTimeAsync(0);

    expect(writes).toEqual([{ kind: 'agent_response_chunk', text: 'x'.repeat(25) }]);
  });

  it('writes what is held when the kind changes, keeping the order', async () => {
    const { coalescer, writes } = setup();

    coalescer.push('agent_thinking', 'Let me ');
    coalescer.push('agent_thinking', 'think.');
    coalescer.push('agent_response_chunk', 'The answer ');
    coalescer.push('agent_response_chunk', 'is 4.');
    coalescer.push('agent_thinking', 'Done.');
    await coalescer.drain();

    expect(writes).toEqual([
      { kind: 'agent_thinking', text: 'Let me ' },
      { kind: 'agent_thinking', text: 'think.' },
      { kind: 'agent_response_chunk', text: 'The answer ' },
      { kind: 'agent_response_chunk', text: 'is 4.' },
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
    const { coalescer, writes } = setup({ maxChars: 3 }, (_kind, text) =>
      text === 'aaa' ? first.promise : Promise.resolve(),
    );

    coalescer.push('agent_response_chunk', 'aaa');
    coalescer.push('agent_response_chunk', 'bbb');
    await jest.advanceTimersByTimeAsync(0);
    expect(writes.map((w) => w.text)).toEqual(['aaa']); // bbb waits for aaa

    first.resolve();
    await coalescer.drain();

    expect(writes.map((w) => w.text)).toEqual(['aaa', 'bbb']);
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

  it('drain() with nothing held writes nothing', async () => {
    const { coalescer, writer } = setup();

    await coalescer.drain();

    expect(writer).not.toHaveBeenCalled();
  });

  it('drain() rethrows a failed write and skips the writes after it', async () => {
    const cancelled = new Error('run cancelled');
    const { coalescer, writes } = setup({ maxChars: 3 }, (_kind, text) =>
      text === 'aaa' ? Promise.reject(cancelled) : Promise.resolve(),
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

    expect(writer.mock.calls).toEqual([['agent_response_chunk', 'half ']]);
  });
});
