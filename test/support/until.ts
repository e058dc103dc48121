import { setImmediate as tick } from 'node:timers/promises';

// Waits for a condition that the server reaches on its own (a socket's close being handled),
// checking on each turn of the event loop. Fails with a clear message instead of a Jest timeout.
export async function until(condition: () => boolean, limitMs = 5000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${limitMs} ms`);
    await tick();
  }
}
