import { ApiProperty } from '@nestjs/swagger';

export class StreamTicketView {
  @ApiProperty({
    description: 'Pass as `?ticket=` to /ws or an SSE route; it works once',
    example: 'q2V0r8cZ0o3mTn5N3b8eQ2l6yWm3ZkJtVq1d0rS8y9A',
  })
  ticket: string;

  @ApiProperty({ description: 'Seconds it may wait for its one use', example: 60 })
  expires_in: number;
}
