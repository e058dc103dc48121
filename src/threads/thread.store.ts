import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { DomainError } from '../common/domain.error';
import { isUuid } from '../common/ids';
import { plainQuery } from '../database/plain-query';
import { Tx } from '../database/transaction';
import { Message, MessageRole } from './message.entity';
import { Thread } from './thread.entity';

// Thread and message persistence. Singleton, so every method takes the owner explicitly and every
// query filters by it; the services bind the owner from the user context.
@Injectable()
export class ThreadStore {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  // On every run start without a thread: plain SQL, like the run path's other statements.
  async create(
    userId: string,
    fields: { title?: string | null; metadata?: Record<string, unknown> },
    manager: EntityManager = this.db.manager,
  ): Promise<Thread> {
    const [row] = await manager.query<ThreadRow[]>(
      `INSERT INTO threads (user_id, title, metadata) VALUES ($1, $2, $3::jsonb)
       RETURNING ${THREAD_COLUMNS}`,
      [userId, fields.title ?? null, JSON.stringify(fields.metadata ?? {})],
    );
    return toThread(row);
  }

  // The user's live thread by its id or by the client's id for it (the id wins if both match).
  async findByRef(
    userId: string,
    ref: string,
    manager: EntityManager = this.db.manager,
  ): Promise<Thread | null> {
    // A thread's id in any case is its id (uuids compare case-insensitively; the text does not).
    if (isUuid(ref)) ref = ref.toLowerCase();
    const rows = await manager.getRepository(Thread).find({
      where: [...(isUuid(ref) ? [{ id: ref, userId }] : []), { clientThreadId: ref, userId }],
      take: 2,
    });
    return rows.find((t) => t.id === ref) ?? rows[0] ?? null;
  }

  // The user's thread named `ref` (its id, or the client's id for it), made now (titled `title`,
  // with `ref` as its client id) if the user has none: for protocols whose clients choose thread
  // ids. Another user's thread id is, for this user, just an id: it names a new thread of theirs,
  // so nothing tells them the other exists. Locked as require(..., lock) does.
  async openByRef(
    userId: string,
    ref: string,
    fields: { title: string | null; metadata?: Record<string, unknown> },
    manager: EntityManager,
  ): Promise<Thread> {
    await manager.query(
      `INSERT INTO threads (user_id, client_thread_id, title, metadata)
       SELECT $1::varchar, $2::varchar, $3::varchar, $4::jsonb
       WHERE NOT EXISTS (
         SELECT 1 FROM threads WHERE user_id = $1::varchar AND id::text = $2::varchar AND deleted_at IS NULL
       )
       ON CONFLICT (user_id, client_thread_id) WHERE client_thread_id IS NOT NULL AND deleted_at IS NULL
       DO NOTHING`,
      [
        userId,
        isUuid(ref) ? ref.toLowerCase() : ref,
        fields.title,
        JSON.stringify(fields.metadata ?? {}),
      ],
    );
    const found = await this.findByRef(userId, ref, manager);
    if (!found) throw DomainError.notFound('thread', ref);
    return this.require(userId, found.id, manager, true);
  }

  // With `lock` (inside a transaction) the row stays locked until commit: see lockForRuns.
  async require(
    userId: string,
    threadId: string,
    manager: EntityManager = this.db.manager,
    lock = false,
  ): Promise<Thread> {
    const thread = isUuid(threadId)
      ? await manager.getRepository(Thread).findOne({
          where: { id: threadId, userId },
          lock: lock ? { mode: 'for_no_key_update' } : undefined,
        })
      : null;
    if (!thread) throw DomainError.notFound('thread', threadId);
    return thread;
  }

  // Every transaction that changes which runs a thread has (starting one, ending one, deleting the
  // thread) takes this lock first, before any run row: one order for all of them, so they queue
  // behind each other instead of deadlocking. NO KEY UPDATE, so inserting a message (whose foreign
  // key takes KEY SHARE on the thread) is not blocked by it. A deleted thread is locked too: its
  // runs still end.
  async lockForRuns(tx: Tx, userId: string, threadId: string): Promise<void> {
    await tx.rows('SELECT id FROM threads WHERE id = $1 AND user_id = $2 FOR NO KEY UPDATE', [
      threadId,
      userId,
    ]);
  }

  // The user's threads whose metadata holds `metadata` (JSON containment) and, when `refs` is
  // given, named by one of them (their id or client id), newest first.
  search(
    userId: string,
    filter: { metadata: Record<string, unknown>; refs?: string[] },
    limit: number,
    offset: number,
  ): Promise<Thread[]> {
    const query = this.db
      .getRepository(Thread)
      .createQueryBuilder('t')
      .where('t.user_id = :userId', { userId })
      .andWhere('t.metadata @> CAST(:metadata AS jsonb)', {
        metadata: JSON.stringify(filter.metadata),
      });
    if (filter.refs) {
      const refs = filter.refs.length ? filter.refs : [''];
      query.andWhere('(t.client_thread_id IN (:...refs) OR CAST(t.id AS text) IN (:...refs))', {
        refs,
      });
    }
    return query
      .orderBy('t.created_at', 'DESC')
      .addOrderBy('t.id', 'DESC')
      .take(limit)
      .skip(offset)
      .getMany();
  }

  list(userId: string, limit: number, offset: number): Promise<[Thread[], number]> {
    return this.db.getRepository(Thread).findAndCount({
      where: { userId },
      order: { createdAt: 'DESC', id: 'DESC' },
      take: limit,
      skip: offset,
    });
  }

  async update(
    userId: string,
    threadId: string,
    patch: { title?: string | null; metadata?: Record<string, unknown> },
  ): Promise<Thread> {
    const thread = await this.require(userId, threadId);
    if (patch.title !== undefined) thread.title = patch.title;
    if (patch.metadata !== undefined) thread.metadata = patch.metadata;
    return this.db.getRepository(Thread).save(thread);
  }

  async softDelete(tx: Tx, userId: string, threadId: string): Promise<void> {
    await this.require(userId, threadId, tx.manager, true);
    await tx.manager.getRepository(Thread).softDelete({ id: threadId, userId });
  }

  // Twice on every run (its question, its answer): plain SQL.
  async addMessage(
    userId: string,
    message: { threadId: string; role: MessageRole; content: string; runId: string | null },
    manager: EntityManager = this.db.manager,
  ): Promise<Message> {
    const [row] = await manager.query<MessageRow[]>(
      `INSERT INTO messages (user_id, thread_id, role, content, run_id) VALUES ($1, $2, $3, $4, $5)
       RETURNING id, user_id, thread_id, role, content, run_id, created_at`,
      [userId, message.threadId, message.role, message.content, message.runId],
    );
    return toMessage(row);
  }

  async listMessages(
    userId: string,
    threadId: string,
    limit: number,
    offset: number,
  ): Promise<[Message[], number]> {
    await this.require(userId, threadId);
    return this.db.getRepository(Message).findAndCount({
      where: { userId, threadId },
      order: { createdAt: 'ASC', id: 'ASC' },
      take: limit,
      skip: offset,
    });
  }

  // The user's own messages containing `text` (case-insensitive), newest first, in live threads.
  searchMessages(userId: string, text: string, limit: number): Promise<Message[]> {
    const pattern = `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    return this.db
      .getRepository(Message)
      .createQueryBuilder('m')
      .innerJoin(
        Thread,
        't',
        't.id = m.thread_id AND t.user_id = m.user_id AND t.deleted_at IS NULL',
      )
      .where('m.user_id = :userId', { userId })
      .andWhere('m.content ILIKE :pattern', { pattern })
      .orderBy('m.created_at', 'DESC')
      .limit(limit)
      .getMany();
  }

  // The conversation a run's agent sees: the thread's messages of the runs created before it and
  // its own question, the newest `limit`, in conversation order (each question, then its answer).
  // A run queued behind others does not see the questions sent after it, and sees the answers of
  // the runs before it, which were written after its own question.
  // Plain SQL: every new run starts with it.
  async conversationFor(
    run: { userId: string; threadId: string; id: string },
    limit: number,
  ): Promise<Message[]> {
    const newest = await plainQuery<MessageRow>(
      this.db,
      `SELECT m.id, m.user_id, m.thread_id, m.role, m.content, m.run_id, m.created_at
       FROM messages m
       JOIN runs r ON r.id = m.run_id
       JOIN runs me ON me.id = $3
       WHERE m.user_id = $1 AND m.thread_id = $2 AND (r.created_at, r.id) <= (me.created_at, me.id)
       ORDER BY r.created_at DESC, r.id DESC, m.created_at DESC
       LIMIT $4`,
      [run.userId, run.threadId, run.id, limit],
    );
    return newest.map(toMessage).reverse();
  }
}

const THREAD_COLUMNS =
  'id, user_id, client_thread_id, title, metadata, created_at, updated_at, deleted_at';

interface ThreadRow {
  id: string;
  user_id: string;
  client_thread_id: string | null;
  title: string | null;
  metadata: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
}

function toThread(row: ThreadRow): Thread {
  return Object.assign(new Thread(), {
    id: row.id,
    userId: row.user_id,
    clientThreadId: row.client_thread_id,
    title: row.title,
    metadata: row.metadata,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    deletedAt: row.deleted_at,
  });
}

interface MessageRow {
  id: string;
  user_id: string;
  thread_id: string;
  role: MessageRole;
  content: string;
  run_id: string | null;
  created_at: Date;
}

function toMessage(row: MessageRow): Message {
  return Object.assign(new Message(), {
    id: row.id,
    userId: row.user_id,
    threadId: row.thread_id,
    role: row.role,
    content: row.content,
    runId: row.run_id,
    createdAt: row.created_at,
  });
}
