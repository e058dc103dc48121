import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsNotEmpty, IsOptional, IsString, Max, Min, MaxLength } from 'class-validator';
import { MAX_SEQ } from '../../common/limits';
import { IntegerFromText } from '../../common/validation';

// Reading events from a position: `?after=N` over REST, `{ after }` in a frame.
export class EventsQueryDto {
  @ApiPropertyOptional({ minimum: 0, default: 0, description: 'Return events with seq > after' })
  @IsOptional()
  @IntegerFromText()
  @IsInt()
  @Min(0)
  @Max(MAX_SEQ)
  after?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: 1000, default: 1000 })
  @IsOptional()
  @IntegerFromText()
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;
}

export class StreamQueryDto {
  @ApiPropertyOptional({
    minimum: 0,
    description: 'Resume after this seq (the Last-Event-ID header does the same)',
  })
  @IsOptional()
  @IntegerFromText()
  @IsInt()
  @Min(0)
  @Max(MAX_SEQ)
  after?: number;

  @ApiPropertyOptional({
    description:
      'A stream ticket (POST /api/stream-tickets) instead of the Authorization header, for an ' +
      'EventSource; it works once',
  })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  ticket?: string;
}

// WebSocket payloads that name a run (`stop_agent`, `unsubscribe`, `get_run_status`).
export class RunRefDto {
  @ApiProperty({
    description: 'The run id, or your own client id of the run (`id` when you started it)',
    example: '3f0c5a8e-1d2b-4c6f-9a7e-2b4d6f8a0c1e',
  })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  run_id: string;
}

export class SubscribeDto extends RunRefDto {
  @ApiPropertyOptional({ minimum: 0, default: 0 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_SEQ)
  after?: number;
}

export class RunEventsFrameDto extends EventsQueryDto {
  @ApiProperty({
    description: 'The run id, or your own client id of the run (`id` when you started it)',
    example: '3f0c5a8e-1d2b-4c6f-9a7e-2b4d6f8a0c1e',
  })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  run_id: string;
}
