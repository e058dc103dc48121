import { ToolInputError } from './agent-tool';
import { ClockTool } from './clock.tool';

const NOW = '2026-01-02T03:04:05.000Z';

// Reports a throw as a rejection whether the tool throws synchronously or rejects.
function readClock(args: Record<string, unknown>) {
  return Promise.resolve().then(() => new ClockTool().execute(args));
}

describe('ClockTool', () => {
  beforeEach(() => jest.useFakeTimers({ now: new Date(NOW) }));
  afterEach(() => jest.useRealTimers());

  it('gives the time in UTC by default', async () => {
    const result = await readClock({});

    expect(result).toEqual({ iso: NOW, timezone: 'UTC', local: expect.any(String) });
    expect(result.local).toContain('2 January 2026');
    expect(result.local).toContain('03:04:05');
  });

  it('gives the local time of the requested zone', async () => {
    const result = await readClock({ timezone: 'Asia/Tokyo' });

    expect(result).toMatchObject({ iso: NOW, timezone: 'Asia/Tokyo' });
    expect(result.local).toContain('12:04:05');
  });

  it('reports an unknown time zone as bad input', async () => {
    const result = readClock({ timezone: 'Mars/Base' });

    await expect(result).rejects.toBeInstanceOf(ToolInputError);
    await expect(result).rejects.toThrow('unknown time zone Mars/Base');
  });
});
