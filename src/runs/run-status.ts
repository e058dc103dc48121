export const RUN_STATUSES = [
  'queued',
  'running',
  'requires_action',
  'complete',
  'failed',
  'cancelled',
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

// Not finished: the run holds its thread and can be cancelled.
export const ACTIVE_STATUSES: readonly RunStatus[] = ['queued', 'running', 'requires_action'];
// Work to do for an executor; a run in requires_action waits for a person instead.
export const RUNNABLE_STATUSES: readonly RunStatus[] = ['queued', 'running'];
export const TERMINAL_STATUSES: readonly RunStatus[] = ['complete', 'failed', 'cancelled'];

export function isTerminal(status: RunStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}
