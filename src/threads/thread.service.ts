import { Injectable } from '@nestjs/common';
import { Page, pageWindow, PaginationQueryDto } from '../common/pagination.dto';
import { UserContext } from '../context/user-context';
import { Tx } from '../database/transaction';
import { CreateThreadDto, UpdateThreadDto } from './dto/thread-fields.dto';
import { MessageView, ThreadView } from './thread.views';
import { ThreadStore } from './thread.store';

// Threads and their messages, as the current user sees them.
@Injectable()
export class ThreadService {
  constructor(
    private readonly ctx: UserContext,
    private readonly store: ThreadStore,
  ) {}

  async create(dto: CreateThreadDto, tx?: Tx): Promise<ThreadView> {
    const fields = { title: dto.title, metadata: dto.metadata };
    return ThreadView.of(await this.store.create(this.ctx.userId, fields, tx?.manager));
  }

  async get(threadId: string): Promise<ThreadView> {
    return ThreadView.of(await this.store.require(this.ctx.userId, threadId));
  }

  async list(query: PaginationQueryDto): Promise<Page<ThreadView>> {
    const { limit, offset } = pageWindow(query);
    const [threads, total] = await this.store.list(this.ctx.userId, limit, offset);
    return { items: threads.map((t) => ThreadView.of(t)), total, limit, offset };
  }

  async update(threadId: string, dto: UpdateThreadDto): Promise<ThreadView> {
    return ThreadView.of(await this.store.update(this.ctx.userId, threadId, dto));
  }

  async history(threadId: string, query: PaginationQueryDto): Promise<Page<MessageView>> {
    const { limit, offset } = pageWindow(query);
    const [messages, total] = await this.store.listMessages(
      this.ctx.userId,
      threadId,
      limit,
      offset,
    );
    return { items: messages.map((m) => MessageView.of(m)), total, limit, offset };
  }
}
