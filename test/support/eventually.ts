import { setTimeout as delay } from 'node:timers/promises';

// Waits for a condition only another process or the database can make true (a job's state, a
// run's status), asking again every `everyMs`. Fails with what was last seen, not a Jest timeout.
export async function eventually<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  limitMs: number,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) {
      throw new Error(`not reached within ${limitMs} ms; last seen: ${JSON.stringify(value)}`);
    }
    await delay(everyMs);
  }
}
