import { ApiProperty } from '@nestjs/swagger';

export const RUN_EVENT_TYPES = [
  'agent_started',
  'agent_thinking',
  'agent_response_chunk',
  'tool_executing',
  'tool_progress',
  'tool_completed',
  'approval_required',
  'approval_resolved',
  'agent_resumed',
  'agent_completed',
  'agent_error',
  'agent_cancelled',
] as const;
export type RunEventType = (typeof RUN_EVENT_TYPES)[number];

export const TERMINAL_EVENT_TYPES: readonly string[] = [
  'agent_completed',
  'agent_error',
  'agent_cancelled',
];

export function isTerminalEvent(type: string): boolean {
  return TERMINAL_EVENT_TYPES.includes(type);
}

// The one shape of an event, whichever way it travels: /events, SSE `data:` and WebSocket
// `agent_update` payloads are all this object.
export class RunEvent {
  @ApiProperty({ format: 'uuid', example: '3f0c5a8e-1d2b-4c6f-9a7e-2b4d6f8a0c1e' })
  run_id: string;

  @ApiProperty({ format: 'uuid', example: '3f0c5a8e-1d2b-4c6f-9a7e-2b4d6f8a0c1e' })
  thread_id: string;

  @ApiProperty({ example: 1, description: 'Position in the run, 1, 2, 3... with no gaps' })
  seq: number;

  @ApiProperty({ enum: RUN_EVENT_TYPES, example: 'agent_started' })
  type: RunEventType;

  @ApiProperty({
    example: 'supervisor',
    description: 'The agent that produced the event (a sub-agent while it works on a task)',
  })
  agent_name: string;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: { agent: 'supervisor', model: 'offline', query: 'What is 2 + 2?' },
  })
  data: Record<string, unknown>;

  @ApiProperty({ example: '2026-11-25T18:00:00.123Z' })
  timestamp: string;
}

export interface RunEventRecord {
  run_id: string;
  thread_id: string;
  seq: number;
  type: string;
  agent_name: string;
  data: Record<string, unknown>;
  created_at: Date;
}

export function toRunEvent(row: RunEventRecord): RunEvent {
  return {
    run_id: row.run_id,
    thread_id: row.thread_id,
    seq: row.seq,
    type: row.type as RunEventType,
    agent_name: row.agent_name,
    data: row.data,
    timestamp: row.created_at.toISOString(),
  };
}
