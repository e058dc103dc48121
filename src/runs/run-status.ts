export const RUN_STATUSES = ['queued', 'running', 'complete', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const ACTIVE_STATUSES: readonly RunStatus[] = ['queued', 'running'];
export const TERMINAL_STATUSES: readonly RunStatus[] = ['complete', 'failed', 'cancelled'];

export function isTerminal(status: RunStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}
