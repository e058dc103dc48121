import 'reflect-metadata';
import { DiscoveryService } from '@nestjs/core';
import { AgentTool, ToolOptions } from './agent-tool';
import { toolContext } from '../../../test/fixtures/tool-context.fixture';
import { ToolRegistry } from './tool.registry';
import { MAX_WAIT_SECONDS, WaitTool } from './wait.tool';

const context = toolContext;

function wait(seconds: number, ctx = context()) {
  return new WaitTool().execute({ seconds }, ctx);
}

const declared = (): ToolOptions => Reflect.getMetadata(AgentTool.KEY, WaitTool) as ToolOptions;

// The tool as the agents reach it: its declared options and input schema, through the registry.
function callWith(args: Record<string, unknown>, tool = new WaitTool()) {
  const tools = new ToolRegistry({} as DiscoveryService);
  tools.register(declared(), tool);
  return tools.execute({ id: 'call_1_1', name: 'wait', arguments: args }, context());
}

describe('WaitTool', () => {
  it.each([0, 0.001])('waits %p seconds and says so', async (seconds) => {
    await expect(wait(seconds)).resolves.toEqual({ waited_seconds: seconds });
  });

  it('reports its progress each whole second, and not at the end', async () => {
    jest.useFakeTimers();
    try {
      const reported: { done: number; total?: number; message?: string }[] = [];
      const waiting = wait(2.5, toolContext(undefined, reported));
      await jest.advanceTimersByTimeAsync(2_500);
      await expect(waiting).resolves.toEqual({ waited_seconds: 2.5 });
      expect(reported).toEqual([
        { done: 1, total: 2.5, message: '1 of 2.5 s' },
        { done: 2, total: 2.5, message: '2 of 2.5 s' },
      ]);
    } finally {
      jest.useRealTimers();
    }
  });

  it('rejects as soon as the signal is aborted', async () => {
    const controller = new AbortController();
    const waiting = wait(MAX_WAIT_SECONDS, context(controller.signal));

    controller.abort();

    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('does not start waiting when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();

    await expect(wait(MAX_WAIT_SECONDS, context(controller.signal))).rejects.toMatchObject({
      name: 'AbortError',
    });
  });

  describe('declared input', () => {
    it.each([-1, MAX_WAIT_SECONDS + 1, '5', null])(
      'refuses %p seconds without waiting',
      async (seconds) => {
        const tool = new WaitTool();
        const execute = jest.spyOn(tool, 'execute');

        const outcome = await callWith({ seconds }, tool);

        expect(outcome.isError).toBe(true);
        expect(outcome.result).toEqual({
          error: expect.stringMatching(/^invalid arguments: .*at seconds/),
        });
        expect(execute).not.toHaveBeenCalled();
      },
    );

    it.each([0, MAX_WAIT_SECONDS])('accepts %p seconds', (seconds) => {
      expect(declared().input.safeParse({ seconds }).success).toBe(true);
    });

    it('runs a valid wait through the registry', async () => {
      await expect(callWith({ seconds: 0 })).resolves.toEqual({
        result: { waited_seconds: 0 },
        isError: false,
      });
    });

    it('gives the longest wait more time than it takes', () => {
      expect(declared().timeoutMs).toBeGreaterThan(MAX_WAIT_SECONDS * 1000);
    });

    it('tells the model the limit', () => {
      expect(declared().description).toContain(`at most ${MAX_WAIT_SECONDS}`);
    });
  });
});
