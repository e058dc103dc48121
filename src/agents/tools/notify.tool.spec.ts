import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { AgentTool, ToolOptions } from './agent-tool';
import { toolContext } from '../../../test/fixtures/tool-context.fixture';
import { NotifyTool } from './notify.tool';

const declared = (): ToolOptions => Reflect.getMetadata(AgentTool.KEY, NotifyTool) as ToolOptions;

describe('NotifyTool', () => {
  it('needs approval', () => {
    expect(declared().requiresApproval).toBe(true);
  });

  it('records the message for the user, and says so', async () => {
    const log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    try {
      await expect(new NotifyTool().execute({ message: 'done' }, toolContext())).resolves.toEqual({
        notified: true,
        message: 'done',
      });
      expect(log).toHaveBeenCalledWith(
        { user_id: 'user-1', run_id: 'run-1', message: 'done' },
        'notification recorded',
      );
    } finally {
      log.mockRestore();
    }
  });

  it.each([{}, { message: '' }, { message: 'x'.repeat(501) }, { message: 5 }])(
    'refuses %p',
    (args) => {
      expect(declared().input.safeParse(args).success).toBe(false);
    },
  );
});
