import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { MAX_QUERY_LENGTH } from './start-agent.dto';

// `POST /api/threads/{id}/messages` body.
export class UserMessageDto {
  @ApiProperty({ maxLength: MAX_QUERY_LENGTH, example: 'And what is that times 2?' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(MAX_QUERY_LENGTH)
  message: string;
}

// The `user_message` frame payload: the same, with the thread id the URL carries over REST.
export class UserMessageFrameDto extends UserMessageDto {
  @ApiProperty({ format: 'uuid' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  thread_id: string;
}
