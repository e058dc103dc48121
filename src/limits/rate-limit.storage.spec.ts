import { DataSource } from 'typeorm';
import { RateLimitStorage } from './rate-limit.storage';

// The in-memory windows (requests and frames); the shared ones are tested against PostgreSQL in
// test/limits.e2e-spec.ts.
describe('RateLimitStorage, counted in memory', () => {
  const storage = new RateLimitStorage({} as DataSource);
  afterEach(() => jest.restoreAllMocks());

  it('lets `limit` hits through in a window, refuses the rest until it closes', async () => {
    const start = 1_000_000;
    const clock = jest.spyOn(Date, 'now').mockReturnValue(start);
    const hit = () => storage.increment('frames:user:a', 60_000, 3, 0, 'frames');
    for (let i = 1; i <= 3; i += 1) {
      await expect(hit()).resolves.toMatchObject({ totalHits: i, isBlocked: false });
    }
    clock.mockReturnValue(start + 45_500);
    await expect(hit()).resolves.toEqual({
      totalHits: 4,
      timeToExpire: 15,
      isBlocked: true,
      timeToBlockExpire: 15,
    });
    // Another key has its own window.
    await expect(storage.increment('frames:user:b', 60_000, 3, 0, 'frames')).resolves.toMatchObject(
      { totalHits: 1, isBlocked: false },
    );
    clock.mockReturnValue(start + 60_000);
    await expect(hit()).resolves.toMatchObject({ totalHits: 1, isBlocked: false });
  });

  it('counts a flood of 100,000 hits in one counter', async () => {
    jest.spyOn(Date, 'now').mockReturnValue(5_000_000);
    for (let i = 0; i < 100_000; i += 1) await storage.increment('k', 60_000, 1e9, 0, 'frames');
    await expect(storage.increment('k', 60_000, 1e9, 0, 'frames')).resolves.toMatchObject({
      totalHits: 100_001,
    });
  });
});
