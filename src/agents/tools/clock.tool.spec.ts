import 'reflect-metadata';
import { DiscoveryService } from '@nestjs/core';
import { AgentTool, ToolInputError, ToolOptions } from './agent-tool';
import { ClockTool } from './clock.tool';
import { ToolRegistry } from './tool.registry';
import { toolContext } from '../../../test/fixtures/tool-context.fixture';

const NOW = '2026-01-02T03:04:05.000Z';

// Reports a throw as a rejection whether the tool throws synchronously or rejects.
function readClock(args: { timezone?: string }) {
  return Promise.resolve().then(() => new ClockTool().execute(args));
}

// The tool as the agents reach it: its declared options and input schema, through the registry.
function callWith(args: Record<string, unknown>) {
  const declared = Reflect.getMetadata(AgentTool.KEY, ClockTool) as ToolOptions;
  const tools = new ToolRegistry({} as DiscoveryService);
  tools.register(declared, new ClockTool());
  return tools.execute({ id: 'call_1_1', name: 'clock', arguments: args }, toolContext());
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

  describe('declared input', () => {
    it('needs no arguments', async () => {
      await expect(callWith({})).resolves.toMatchObject({
        result: { iso: NOW, timezone: 'UTC' },
        isError: false,
      });
    });

    it.each([
      ['a time zone that is not a string', { timezone: 9 }],
      ['a time zone longer than 100 characters', { timezone: 'A'.repeat(101) }],
    ])('refuses %s', async (_case, args) => {
      const outcome = await callWith(args);

      expect(outcome.isError).toBe(true);
      expect(outcome.result).toEqual({
        error: expect.stringMatching(/^invalid arguments: .*at timezone/),
      });
    });
  });
});
