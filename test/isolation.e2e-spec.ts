import { Channel, openChannel } from './support/channels';
import { startTestApp, TestApp } from './support/test-app';

const USERS = ['alice', 'bob'] as const;
const PER_CHANNEL = 8;

// Request-scoped user context under load: both users hit both channels at the same time, and each
// must end up with exactly their own threads and runs, and see none of the other's.
describe('two users acting at once over both channels', () => {
  let app: TestApp;
  const channels: Record<string, Channel[]> = {};

  beforeAll(async () => {
    app = await startTestApp();
    for (const user of USERS) {
      channels[user] = [await openChannel('rest', app, user), await openChannel('ws', app, user)];
    }
  });
  afterAll(async () => {
    for (const list of Object.values(channels)) for (const c of list) await c.close();
    await app.close();
  });

  it('never mixes up their context or data', async () => {
    // Every call in flight together, interleaved across users and channels.
    const work = USERS.flatMap((user, u) =>
      channels[user].flatMap((channel) =>
        Array.from({ length: PER_CHANNEL }, async (_, i) => {
          const n = (u + 1) * 100 + i;
          const thread = await channel.createThread(`${user}-${channel.name}-${i}`);
          const { started, events } = await channel.startAndFollow({
            query: `What is ${n} + 1?`,
            thread_id: thread.id,
          });
          return { user, thread, started, events, n };
        }),
      ),
    );
    const results = await Promise.all(work);

    for (const user of USERS) {
      const [rest, ws] = channels[user];
      const mine = results.filter((r) => r.user === user);
      const expectedTitles = mine.map((r) => r.thread.title).sort();
      // Both channels list the same threads for the user: their own, all of them, nothing else.
      expect((await rest.listThreads()).map((t) => t.title).sort()).toEqual(expectedTitles);
      expect((await ws.listThreads()).map((t) => t.title).sort()).toEqual(expectedTitles);

      for (const r of mine) {
        expect(r.events[r.events.length - 1].data.answer).toBe(`${r.n} + 1 = ${r.n + 1}.`);
        const history = await ws.history(r.thread.id);
        expect(history.map((m) => m.content)).toEqual([
          `What is ${r.n} + 1?`,
          `${r.n} + 1 = ${r.n + 1}.`,
        ]);
      }
      // And the other user's ids are invisible on both channels.
      const theirs = results.filter((r) => r.user !== user);
      for (const r of theirs.slice(0, 3)) {
        for (const channel of [rest, ws]) {
          await expect(channel.status(r.started.run_id)).rejects.toMatchObject({
            code: 'not_found',
          });
          await expect(channel.history(r.thread.id)).rejects.toMatchObject({ code: 'not_found' });
        }
      }
    }
  });
});
