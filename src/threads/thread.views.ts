import { ApiProperty } from '@nestjs/swagger';
import { PageOf } from '../common/pagination.dto';
import { MESSAGE_ROLES, Message, MessageRole } from './message.entity';
import { Thread } from './thread.entity';

export class ThreadView {
  @ApiProperty({ format: 'uuid', example: '5b0a3b8e-3c1e-4d8f-9a57-1f6f0a1c2b3d' })
  id: string;

  @ApiProperty({
    type: String,
    nullable: true,
    example: null,
    description:
      "The client's own id for the thread, when a protocol client named it (AG-UI's threadId, the Agent Protocol's thread_id)",
  })
  client_thread_id: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'Quarterly numbers' })
  title: string | null;

  @ApiProperty({ type: 'object', additionalProperties: true, example: { project: 'apollo' } })
  metadata: Record<string, unknown>;

  @ApiProperty({ example: '2026-11-25T18:00:00.000Z' })
  created_at: string;

  @ApiProperty({ example: '2026-11-25T18:05:00.000Z' })
  updated_at: string;

  static of(thread: Thread): ThreadView {
    return {
      id: thread.id,
      client_thread_id: thread.clientThreadId ?? null,
      title: thread.title,
      metadata: thread.metadata,
      created_at: thread.createdAt.toISOString(),
      updated_at: thread.updatedAt.toISOString(),
    };
  }
}

export class MessageView {
  @ApiProperty({ format: 'uuid', example: '3f0c5a8e-1d2b-4c6f-9a7e-2b4d6f8a0c1e' })
  id: string;

  @ApiProperty({ format: 'uuid', example: '3f0c5a8e-1d2b-4c6f-9a7e-2b4d6f8a0c1e' })
  thread_id: string;

  @ApiProperty({ enum: MESSAGE_ROLES, example: 'user' })
  role: MessageRole;

  @ApiProperty({ example: 'What is 17 * 23?' })
  content: string;

  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    example: '3f0c5a8e-1d2b-4c6f-9a7e-2b4d6f8a0c1e',
  })
  run_id: string | null;

  @ApiProperty({ example: '2026-11-25T18:00:00.000Z' })
  created_at: string;

  static of(message: Message): MessageView {
    return {
      id: message.id,
      thread_id: message.threadId,
      role: message.role,
      content: message.content,
      run_id: message.runId,
      created_at: message.createdAt.toISOString(),
    };
  }
}

export class ThreadPage extends PageOf(ThreadView) {}

export class MessagePage extends PageOf(MessageView) {}
