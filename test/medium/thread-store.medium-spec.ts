import { DataSource } from 'typeorm';
import { Message } from '../../src/threads/message.entity';
import { Thread } from '../../src/threads/thread.entity';
import { ThreadStore } from '../../src/threads/thread.store';
import { RunsContext, startRunsContext } from './runs-context';

// ThreadStore.openByRef: the thread a client names by its own id (AG-UI's threadId), made on
// first use, per user, under concurrent starts.
describe('ThreadStore.openByRef (real PostgreSQL)', () => {
  let ctx: RunsContext;
  let db: DataSource;
  let threads: ThreadStore;
  beforeAll(async () => {
    ctx = await startRunsContext();
    db = ctx.app.get(DataSource);
    threads = ctx.app.get(ThreadStore);
  });
  afterAll(() => ctx?.close());

  const open = (userId: string, ref: string) =>
    db.transaction((manager) => threads.openByRef(userId, ref, { title: 'title' }, manager));

  it('makes one thread for a client id, however many starts race for it', async () => {
    const opened = await Promise.all(Array.from({ length: 8 }, () => open('mia', 'chat-1')));
    expect(new Set(opened.map((t) => t.id)).size).toBe(1);
    expect(opened[0]).toMatchObject({ userId: 'mia', clientThreadId: 'chat-1', title: 'title' });
    expect((await open('mia', 'chat-1')).id).toBe(opened[0].id);
  });

  it("gives another user's id, client id or thread id, a thread of the caller's own", async () => {
    const mias = await open('mia', 'chat-2');
    const bobsByClientId = await open('bob', 'chat-2');
    const bobsByThreadId = await open('bob', mias.id);
    expect(bobsByClientId.id).not.toBe(mias.id);
    expect(bobsByThreadId.id).not.toBe(mias.id);
    expect(bobsByThreadId).toMatchObject({ userId: 'bob', clientThreadId: mias.id });
    expect((await threads.require('mia', mias.id)).userId).toBe('mia');
  });

  it("takes the user's own thread by its id, and a deleted thread's client id anew", async () => {
    const made = await threads.create('mia', { title: 'made' });
    expect((await open('mia', made.id)).id).toBe(made.id);
    const first = await open('mia', 'chat-3');
    await db.query('UPDATE threads SET deleted_at = now() WHERE id = $1', [first.id]);
    const again = await open('mia', 'chat-3');
    expect(again.id).not.toBe(first.id);
  });

  it('creates threads and messages as the entity mapping loads them', async () => {
    const metadata = { team: 'a', nested: { n: 1 } };
    const thread = await threads.create('mia', { title: 'T', metadata });
    expect(thread).toEqual(await db.getRepository(Thread).findOneByOrFail({ id: thread.id }));
    expect(thread.metadata).toEqual(metadata);

    const message = await threads.addMessage('mia', {
      threadId: thread.id,
      role: 'user',
      content: 'hello',
      runId: null,
    });
    expect(message).toBeInstanceOf(Message);
    expect(message).toEqual(await db.getRepository(Message).findOneByOrFail({ id: message.id }));
  });
});
