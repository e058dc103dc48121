import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { PaginationQueryDto } from '../../common/pagination.dto';
import { CreateThreadDto } from './thread-fields.dto';

// WebSocket payloads of thread operations: the thread id travels in the payload, not the path.
export class ThreadRefDto {
  @ApiProperty({ format: 'uuid', example: '3f0c5a8e-1d2b-4c6f-9a7e-2b4d6f8a0c1e' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  thread_id: string;
}

export class ThreadPageRefDto extends PaginationQueryDto {
  @ApiProperty({ format: 'uuid', example: '3f0c5a8e-1d2b-4c6f-9a7e-2b4d6f8a0c1e' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  thread_id: string;
}

export class UpdateThreadFrameDto extends CreateThreadDto {
  @ApiProperty({ format: 'uuid', example: '3f0c5a8e-1d2b-4c6f-9a7e-2b4d6f8a0c1e' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  thread_id: string;
}
