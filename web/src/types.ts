// What the server sends, as the chat reads it (see openapi.json and docs/websocket.md).

export interface RunEvent {
  run_id: string;
  thread_id: string;
  seq: number;
  type: string;
  agent_name: string;
  data: Record<string, unknown>;
  timestamp: string;
}

export interface TokenUsage {
  input_tokens: number;
  output_tokens: number;
}

export interface RunUsage extends TokenUsage {
  models?: Record<string, TokenUsage>;
}

export type RunStatusName =
  'queued' | 'running' | 'requires_action' | 'complete' | 'failed' | 'cancelled';

export interface RunStatus {
  run_id: string;
  thread_id: string;
  status: RunStatusName;
  query: string;
  usage: RunUsage;
  result?: string;
  error?: string;
}

export interface RunStarted {
  run_id: string;
  thread_id: string;
  status: string;
  replayed: boolean;
}

export interface Thread {
  id: string;
  title: string | null;
  metadata: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

export interface Message {
  id: string;
  thread_id: string;
  role: 'user' | 'assistant';
  content: string;
  run_id: string | null;
  created_at: string;
}

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

export interface ErrorBody {
  code?: string;
  message?: string;
  retry_after_ms?: number;
}

export const TERMINAL_EVENTS: readonly string[] = [
  'agent_completed',
  'agent_error',
  'agent_cancelled',
];

export const ACTIVE_STATUSES: readonly RunStatusName[] = ['queued', 'running', 'requires_action'];
