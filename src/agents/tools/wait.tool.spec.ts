import { ToolContext, ToolInputError } from './agent-tool';
import { MAX_WAIT_SECONDS, WaitTool } from './wait.tool';

function context(signal = new AbortController().signal): ToolContext {
  return { userId: 'user-1', runId: 'run-1', threadId: 'thread-1', signal };
}

function wait(seconds: number, ctx = context()) {
  return new WaitTool().execute({ seconds }, ctx);
}

describe('WaitTool', () => {
  it.each([0, 0.001])('waits %p seconds and says so', async (seconds) => {
    await expect(wait(seconds)).resolves.toEqual({ waited_seconds: seconds });
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

  it.each([-1, MAX_WAIT_SECONDS + 1, Number.NaN])(
    'refuses %p seconds as bad input',
    async (seconds) => {
      const result = wait(seconds);

      await expect(result).rejects.toBeInstanceOf(ToolInputError);
      await expect(result).rejects.toThrow(`seconds must be between 0 and ${MAX_WAIT_SECONDS}`);
    },
  );
});
