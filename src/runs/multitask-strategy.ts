// What to do when a run is started on a thread that already has one in progress.
// - reject: refuse with thread_busy (409).
// - enqueue: wait; the thread's runs execute one after another, in the order they were created.
// - interrupt: cancel what the thread has in progress (and queued), then start this one.
export const MULTITASK_STRATEGIES = ['reject', 'enqueue', 'interrupt'] as const;
export type MultitaskStrategy = (typeof MULTITASK_STRATEGIES)[number];
export const DEFAULT_MULTITASK_STRATEGY: MultitaskStrategy = 'enqueue';
