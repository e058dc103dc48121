import { ApiProperty } from '@nestjs/swagger';

export class CostedUsageView {
  @ApiProperty({ example: 812 })
  input_tokens: number;

  @ApiProperty({ example: 64 })
  output_tokens: number;

  @ApiProperty({
    type: Number,
    nullable: true,
    example: 0.0001602,
    description: 'US dollars, from LLM_PRICES; null when a model used has no price',
  })
  cost_usd: number | null;
}

export class ModelUsageView extends CostedUsageView {
  @ApiProperty({ example: 'gpt-4o-mini' })
  model: string;
}

export class ThreadUsageView extends CostedUsageView {
  @ApiProperty({ format: 'uuid', example: '3f0c5a8e-1d2b-4c6f-9a7e-2b4d6f8a0c1e' })
  thread_id: string;

  @ApiProperty({ example: 3, description: 'Runs of the thread in the period' })
  runs: number;
}

export class RunCostView extends CostedUsageView {
  @ApiProperty({ format: 'uuid', example: '3f0c5a8e-1d2b-4c6f-9a7e-2b4d6f8a0c1e' })
  run_id: string;

  @ApiProperty({ format: 'uuid', example: '3f0c5a8e-1d2b-4c6f-9a7e-2b4d6f8a0c1e' })
  thread_id: string;

  @ApiProperty({ example: '2026-11-25T18:00:00.000Z' })
  created_at: string;
}

// The user's token usage and its cost over a period: in total, per model, per thread and per run.
export class UsageView extends CostedUsageView {
  @ApiProperty({ example: '2026-11-01T00:00:00.000Z' })
  from: string;

  @ApiProperty({ example: '2026-12-01T00:00:00.000Z' })
  to: string;

  @ApiProperty({ example: 3, description: 'Runs started in the period' })
  runs_count: number;

  @ApiProperty({ type: [ModelUsageView] })
  models: ModelUsageView[];

  @ApiProperty({ type: [ThreadUsageView], description: 'Most tokens first' })
  threads: ThreadUsageView[];

  @ApiProperty({
    type: [RunCostView],
    description: `Newest first, at most ${1000} (see runs_truncated)`,
  })
  runs: RunCostView[];

  @ApiProperty({ example: false, description: 'true when the period has more runs than listed' })
  runs_truncated: boolean;
}
