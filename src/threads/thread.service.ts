import { Injectable } from '@nestjs/common';
import { PER_USER } from '../context/per-user';
import { Page, pageWindow, PaginationQueryDto } from '../common/pagination.dto';
import { UserContext } from '../context/user-context';
import { DomainError } from '../common/domain.error';
import { Tx } from '../database/transaction';
import { CreateThreadDto, UpdateThreadDto } from './dto/thread-fields.dto';
import { MessageView, ThreadView } from './thread.views';
import { ThreadStore } from './thread.store';

// Threads and their messages, as the current user sees them.
@Injectable(PER_USER)
export class ThreadService {
  constructor(
    private readonly ctx: UserContext,
    private readonly store: ThreadStore,
  ) {}

  async create(dto: CreateThreadDto, tx?: Tx): Promise<ThreadView> {
    const fields = { title: dto.title, metadata: dto.metadata };
    return ThreadView.of(await this.store.create(this.ctx.userId, fields, tx?.manager));
  }

  // By its id or the client's id for it.
  async find(ref: string): Promise<ThreadView> {
    const thread = await this.store.findByRef(this.ctx.userId, ref);
    if (!thread) throw DomainError.notFound('thread', ref);
    return ThreadView.of(thread);
  }

  // The thread under this client id, made (with `fields`) if there is none; `created` says which.
  async open(
    ref: string,
    fields: CreateThreadDto,
    tx: Tx,
  ): Promise<{ thread: ThreadView; created: boolean }> {
    const earlier = await this.store.findByRef(this.ctx.userId, ref, tx.manager);
    if (earlier) return { thread: ThreadView.of(earlier), created: false };
    const made = await this.store.openByRef(
      this.ctx.userId,
      ref,
      { title: fields.title ?? null, metadata: fields.metadata },
      tx.manager,
    );
    return { thread: ThreadView.of(made), created: true };
  }

  async get(threadId: string): Promise<ThreadView> {
    return ThreadView.of(await this.store.require(this.ctx.userId, threadId));
  }

  async search(
    filter: { metadata: Record<string, unknown>; refs?: string[] },
    limit: number,
    offset: number,
  ): Promise<ThreadView[]> {
    const threads = await this.store.search(this.ctx.userId, filter, limit, offset);
    return threads.map((t) => ThreadView.of(t));
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
