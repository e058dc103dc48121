import { RunEvent } from './run-event';

// Serialising an event was the main per-delivery cost of fan-out: with 2,000 sockets on one run,
// every event was turned into JSON 2,000 times. A run's feed hands the same object to every
// follower on this instance (src/runs/run-event.stream.ts), so each wire form is made once, on
// first use, and kept beside the event (weakly: it goes with the event).
const encodings = new WeakMap<RunEvent, Map<string, unknown>>();

export function encodeOnce<T>(event: RunEvent, format: string, encode: (event: RunEvent) => T): T {
  let forms = encodings.get(event);
  if (!forms) {
    forms = new Map();
    encodings.set(event, forms);
  }
  if (forms.has(format)) return forms.get(format) as T;
  const encoded = encode(event);
  forms.set(format, encoded);
  return encoded;
}
