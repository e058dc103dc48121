import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RunEvent } from '../runs/run-event';
import { encodeOnce } from '../runs/run-event.encoding';

// The process's metrics, in one registry, served by GET /metrics (Prometheus text). Module-level,
// as prom-client intends: what records a figure (the event log, the tool registry, the agent
// loop, the channels) imports the metric it records, with no wiring. Counters only grow for the
// process's life; several apps in one process (tests) add to the same ones.
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'netra_' });

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export const httpDuration = new Histogram({
  name: 'netra_http_request_duration_seconds',
  help: 'HTTP requests by method, route (its pattern) and status',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: SECONDS,
  registers: [registry],
});

export const openSockets = new Gauge({
  name: 'netra_websocket_connections',
  help: 'Open WebSocket connections',
  registers: [registry],
});

export const openStreams = new Gauge({
  name: 'netra_sse_streams',
  help: 'Open Server-Sent Events streams',
  registers: [registry],
});

// Per-user subtrees of the request-scoped services (UserContextStrategy): built, and held now.
// Built grows with users first seen and users seen again after their subtree was let go.
export const userContextsBuilt = new Counter({
  name: 'netra_user_contexts_built_total',
  help: "Per-user subtrees of the request-scoped services built (a user's first request, or the first after eviction)",
  registers: [registry],
});

export const userContextsHeld = new Gauge({
  name: 'netra_user_contexts',
  help: 'Per-user subtrees of the request-scoped services this instance holds (at most USER_CONTEXTS_MAX)',
  registers: [registry],
});

export const runsByStatus = new Gauge({
  name: 'netra_runs',
  help: 'Runs by status, all instances (read from the database at each scrape)',
  labelNames: ['status'] as const,
  registers: [registry],
});

export const eventsPersisted = new Counter({
  name: 'netra_events_persisted_total',
  help: 'Run events written by this instance, by type (in the transaction that commits them)',
  labelNames: ['type'] as const,
  registers: [registry],
});

export const groupCommitSize = new Histogram({
  name: 'netra_event_group_commit_runs',
  help: 'Runs whose events one group commit of this instance wrote together',
  buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500],
  registers: [registry],
});

export const eventsPushed = new Counter({
  name: 'netra_events_pushed_total',
  help: 'Run events sent to clients by this instance, by channel',
  labelNames: ['channel'] as const,
  registers: [registry],
});

export const commitToPush = new Histogram({
  name: 'netra_event_commit_to_push_seconds',
  help: 'From an event being committed to its being written to a client, by channel',
  labelNames: ['channel'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  registers: [registry],
});

export const databaseUp = new Gauge({
  name: 'netra_database_up',
  help: '1 when the last scrape could read the database, else 0',
  registers: [registry],
});

export const queueDepth = new Gauge({
  name: 'netra_queue_depth',
  help: 'Runs waiting to be executed, all instances (read at each scrape)',
  registers: [registry],
});

export const queueWait = new Histogram({
  name: 'netra_queue_wait_seconds',
  help: 'From a run being created to an executor taking it',
  buckets: SECONDS,
  registers: [registry],
});

export const modelCallDuration = new Histogram({
  name: 'netra_model_call_duration_seconds',
  help: 'Model calls (one streamed turn), by model and outcome',
  labelNames: ['model', 'outcome'] as const,
  buckets: SECONDS,
  registers: [registry],
});

export const modelTokens = new Counter({
  name: 'netra_model_tokens_total',
  help: 'Tokens by model and direction (input, output)',
  labelNames: ['model', 'direction'] as const,
  registers: [registry],
});

export const toolCallDuration = new Histogram({
  name: 'netra_tool_call_duration_seconds',
  help: 'Tool calls by tool and outcome (ok, error)',
  labelNames: ['tool', 'outcome'] as const,
  buckets: SECONDS,
  registers: [registry],
});

// Seconds since `start` (a performance.now() reading).
export function since(start: number): number {
  return (performance.now() - start) / 1000;
}

// Older than this, an event sent is a replay (a client catching up after `after` or
// Last-Event-ID), not a live push: counted as sent, but not as push latency.
const LIVE_WITHIN_S = 10;

// An event written to a client: counted, and how long after its commit (the database's clock,
// on the same host or synchronised with it).
// Called once per delivery (2,000 times an event on a run with 2,000 sockets): the labelled
// children are looked up once, and the event's commit time is parsed once for all deliveries.
export type PushChannel = 'ws' | 'sse' | 'ag-ui' | 'mcp' | 'lg';
const CHANNELS: PushChannel[] = ['ws', 'sse', 'ag-ui', 'mcp', 'lg'];
const pushed = Object.fromEntries(CHANNELS.map((c) => [c, eventsPushed.labels(c)]));
const pushLag = Object.fromEntries(CHANNELS.map((c) => [c, commitToPush.labels(c)]));
export function recordPush(channel: PushChannel, event: RunEvent): void {
  pushed[channel].inc();
  const committed = encodeOnce(event, 'committed_ms', (e) => Date.parse(e.timestamp));
  const lag = (Date.now() - committed) / 1000;
  if (lag >= 0 && lag <= LIVE_WITHIN_S) pushLag[channel].observe(lag);
}

export const runsFinished = new Counter({
  name: 'netra_runs_finished_total',
  help: 'Runs this instance ended, by final status',
  labelNames: ['status'] as const,
  registers: [registry],
});
