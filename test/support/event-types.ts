import { RunEvent } from '../../src/runs/run-event';

const STREAMED = new Set(['agent_thinking', 'agent_response_chunk']);

// The types of a run's events, one entry per stretch of streamed text: how many events a stretch
// of thinking or answer becomes is the coalescer's choice (the first delta at once, the rest
// batched), not the behaviour these tests check.
export function types(events: RunEvent[]): string[] {
  return events
    .map((e) => e.type)
    .filter((type, i, all) => !(STREAMED.has(type) && all[i - 1] === type));
}

// The text of every event of one streamed kind, in order.
export function streamedText(events: RunEvent[], type: 'agent_thinking' | 'agent_response_chunk') {
  return events
    .filter((e) => e.type === type)
    .map((e) => (e.data as { text: string }).text)
    .join('');
}
