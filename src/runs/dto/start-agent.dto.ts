import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsNotEmpty, IsOptional, IsString, Matches, MaxLength } from 'class-validator';

export const MAX_QUERY_LENGTH = 20_000;

// `POST /api/agent/run_agent` body and the `start_agent` frame payload.
export class StartAgentDto {
  @ApiProperty({ maxLength: MAX_QUERY_LENGTH, example: 'What is 17 * 23?' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(MAX_QUERY_LENGTH)
  query: string;

  @ApiPropertyOptional({
    description:
      'Your own id for this run. Sending the same id again returns the same run instead of a new one.',
    maxLength: 200,
    example: 'run_123',
  })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  @Matches(/^[A-Za-z0-9._:-]+$/, { message: 'id may only contain letters, digits and . _ : -' })
  id?: string;

  @ApiPropertyOptional({
    format: 'uuid',
    example: '9b1d3f5a-7c9e-4b2d-8f6a-0c2e4a6b8d0f',
    description: 'Continue this thread; without it a new thread is created',
  })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  thread_id?: string;

  @ApiPropertyOptional({
    description: 'The agent that answers: `supervisor` (default) or one a module registered',
    example: 'supervisor',
  })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  agent?: string;

  @ApiPropertyOptional({
    description:
      'A model the configuration allows (LLM_MODEL or one of LLM_MODELS); default LLM_MODEL',
    example: 'gpt-4o-mini',
  })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  model?: string;
}
