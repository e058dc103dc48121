import { ApiExtraModels, ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { PageOf } from '../common/pagination.dto';
import { RUN_STATUSES, RunStatus } from './run-status';
import { Run } from './run.entity';

export const START_STATUSES = ['started', ...RUN_STATUSES] as const;
export type StartStatus = (typeof START_STATUSES)[number];

export class RunStartedView {
  @ApiProperty({ format: 'uuid', example: '3f0c5a8e-1d2b-4c6f-9a7e-2b4d6f8a0c1e' })
  run_id: string;

  @ApiProperty({ format: 'uuid', example: '3f0c5a8e-1d2b-4c6f-9a7e-2b4d6f8a0c1e' })
  thread_id: string;

  @ApiProperty({
    enum: START_STATUSES,
    example: 'started',
    description:
      '`started`: a new run, executing now; `queued`: a new run waiting for the runs before it on ' +
      "its thread (multitask_strategy enqueue); for a replayed start, the run's current status",
  })
  status: StartStatus;

  @ApiProperty({
    description: 'true when this client run id was already used, and this is that same run',
    example: false,
  })
  replayed: boolean;

  static of(run: Run, outcome: { created: boolean; waiting: boolean }): RunStartedView {
    const status: StartStatus = !outcome.created
      ? run.status
      : outcome.waiting
        ? 'queued'
        : 'started';
    return { run_id: run.id, thread_id: run.threadId, status, replayed: !outcome.created };
  }
}

export class TokenUsageView {
  @ApiProperty({ example: 812 })
  input_tokens: number;

  @ApiProperty({ example: 64 })
  output_tokens: number;
}

@ApiExtraModels(TokenUsageView)
export class RunUsageView extends TokenUsageView {
  @ApiProperty({
    type: 'object',
    additionalProperties: { $ref: getSchemaPath(TokenUsageView) },
    example: { 'gpt-4o-mini': { input_tokens: 812, output_tokens: 64 } },
    description: 'Per model',
  })
  models: Record<string, TokenUsageView>;
}

export class RunStatusView {
  @ApiProperty({ format: 'uuid', example: '3f0c5a8e-1d2b-4c6f-9a7e-2b4d6f8a0c1e' })
  run_id: string;

  @ApiProperty({ format: 'uuid', example: '3f0c5a8e-1d2b-4c6f-9a7e-2b4d6f8a0c1e' })
  thread_id: string;

  @ApiProperty({ enum: RUN_STATUSES, example: 'complete' })
  status: RunStatus;

  @ApiProperty({ example: 'What is 17 * 23?' })
  query: string;

  @ApiPropertyOptional({ type: String, nullable: true, example: 'client-run-42' })
  client_run_id: string | null;

  @ApiProperty({ example: 'supervisor' })
  agent: string;

  @ApiProperty({ type: String, nullable: true, description: 'null: the configured default model' })
  model: string | null;

  @ApiProperty({ type: RunUsageView, description: 'Tokens in and out, in total and per model' })
  usage: RunUsageView;

  @ApiProperty({ example: '2026-11-25T18:00:00.000Z' })
  created_at: string;

  @ApiProperty({ example: '2026-11-25T18:00:01.000Z' })
  updated_at: string;

  @ApiProperty({
    type: String,
    nullable: true,
    example: '2026-11-25T18:00:00.020Z',
    description: 'When an executor first took it; null while it waits',
  })
  started_at: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    example: '2026-11-25T18:00:01.000Z',
    description: 'When it ended; null until then',
  })
  finished_at: string | null;

  @ApiPropertyOptional({ description: 'The final answer, once complete', example: '17 * 23 = 391' })
  result?: string;

  @ApiPropertyOptional({ description: 'What went wrong, once failed' })
  error?: string;

  static of(run: Run): RunStatusView {
    const view: RunStatusView = {
      run_id: run.id,
      thread_id: run.threadId,
      status: run.status,
      query: run.query,
      client_run_id: run.clientRunId,
      agent: run.agent,
      model: run.model,
      usage: usageOf(run.usage),
      created_at: run.createdAt.toISOString(),
      updated_at: run.updatedAt.toISOString(),
      started_at: run.startedAt?.toISOString() ?? null,
      finished_at: run.finishedAt?.toISOString() ?? null,
    };
    if (run.result !== null) view.result = run.result;
    if (run.error !== null) view.error = run.error;
    return view;
  }
}

function usageOf(models: Run['usage']): RunUsageView {
  const all = Object.values(models);
  return {
    input_tokens: all.reduce((sum, m) => sum + m.input_tokens, 0),
    output_tokens: all.reduce((sum, m) => sum + m.output_tokens, 0),
    models,
  };
}

export class CancelResultView {
  @ApiProperty({ format: 'uuid', example: '3f0c5a8e-1d2b-4c6f-9a7e-2b4d6f8a0c1e' })
  run_id: string;

  @ApiProperty({ enum: RUN_STATUSES, example: 'cancelled' })
  status: RunStatus;

  @ApiProperty({ description: 'false when the run had already finished', example: true })
  cancelled: boolean;

  @ApiProperty({ example: 'Run cancelled' })
  message: string;
}

export class RunPage extends PageOf(RunStatusView) {}
