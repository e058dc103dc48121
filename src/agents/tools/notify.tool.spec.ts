import 'reflect-metadata';
import { AgentTool, ToolOptions } from './agent-tool';
import { toolContext } from '../../../test/fixtures/tool-context.fixture';
import { NotifyTool } from './notify.tool';

const declared = (): ToolOptions => Reflect.getMetadata(AgentTool.KEY, NotifyTool) as ToolOptions;

describe('NotifyTool', () => {
  it('needs approval', () => {
    expect(declared().requiresApproval).toBe(true);
  });

  it('records the message and says so', async () => {
    await expect(new NotifyTool().execute({ message: 'done' }, toolContext())).resolves.toEqual({
      notified: true,
      message: 'done',
    });
  });

  it.each([{}, { message: '' }, { message: 'x'.repeat(501) }, { message: 5 }])('refuses %p', (args) => {
    expect(declared().input.safeParse(args).success).toBe(false);
  });
});
