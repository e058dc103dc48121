import { z } from 'zod';
import { Run } from '../runs/run.entity';
import { AgentOptions } from './agent-definition';
import { AgentLoop, Frame, QueuedCall, RunCheckpoint, RunPaused } from './agent-loop';
import {
  noDiscovery,
  reasoning,
  runOf,
  ScriptedModel,
  text,
  toolCall,
  Turn,
  usage,
} from '../../test/fixtures/agent-loop.fixture';
import { FakeRuns } from '../../test/fixtures/fake-runs';
import { AgentRegistry } from './agent.registry';
import { ChatMessage } from './llm/chat-model.port';
import { ToolContext } from './tools/agent-tool';
import { ToolRegistry } from './tools/tool.registry';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const RESEARCHER: AgentOptions = {
  name: 'researcher',
  description: 'finds things',
  instructions: 'You research.',
  tools: ['echo'],
};

const MAILER: AgentOptions = {
  name: 'mailer',
  description: 'sends mail',
  instructions: 'You send mail.',
  tools: ['send'],
};

function setup(options: { turns?: Turn[]; agents?: AgentOptions[]; run?: Partial<Run> } = {}) {
  const runs = new FakeRuns();
  const run = runs.addRun(runOf({ status: 'running', ...options.run }));
  const claimed = runs.claimNow(runs.job(run), () => {
    throw new Error('the run is running already');
  });
  if (!claimed) throw new Error('the run could not be claimed');
  const { journal } = claimed;
  const tools = new ToolRegistry(noDiscovery());
  const echo = jest.fn((input: { text: string }, _ctx: ToolContext) =>
    Promise.resolve({ echoed: input.text }),
  );
  const send = jest.fn((input: { to: string; body: string }, _ctx: ToolContext) =>
    Promise.resolve({ sent_to: input.to }),
  );
  tools.register(
    { name: 'echo', description: 'echoes text', input: z.object({ text: z.string() }) },
    { execute: echo },
  );
  tools.register(
    {
      name: 'send',
      description: 'sends a message',
      input: z.object({ to: z.string(), body: z.string().default('hello') }),
      requiresApproval: true,
    },
    { execute: send },
  );
  const agents = new AgentRegistry(noDiscovery(), tools);
  (options.agents ?? []).forEach((agent) => agents.register(agent));
  const model = new ScriptedModel('test-model', options.turns);
  const loop = (checkpoint: RunCheckpoint, signal = new AbortController().signal) =>
    new AgentLoop(run, model, { tools, agents }, journal, signal, checkpoint);
  // The events of the run, without what the fake adds.
  const events = () =>
    runs.eventsOf(run.id).map(({ type, agent_name, data }) => ({ type, agent_name, data }));
  // The checkpoint as stored, as the next execution loads it.
  const stored = (): RunCheckpoint => {
    const checkpoint = runs.checkpointOf(run.id) as RunCheckpoint | null;
    if (!checkpoint) throw new Error('no checkpoint stored');
    return checkpoint;
  };
  // What the approval service does when a person answers: decide and move the run to running.
  const answer = (key: string, status: 'approved' | 'rejected', message?: string) => {
    runs.answer(run.id, key, status, message);
    return Promise.resolve();
  };
  return {
    runs,
    run,
    journal,
    tools,
    agents,
    echo,
    send,
    model,
    loop,
    events,
    stored,
    answer,
  };
}

function frame(overrides: Partial<Frame> = {}): Frame {
  return {
    agent: 'supervisor',
    step: 0,
    messages: [{ role: 'user', content: 'the question' }],
    queue: [],
    ...overrides,
  };
}

function checkpointOf(...frames: Frame[]): RunCheckpoint {
  return { version: 2, frames: frames.length > 0 ? frames : [frame()] };
}

function queued(key: string, id: string, name: string, args: Record<string, unknown>): QueuedCall {
  return { key, id, name, arguments: args };
}

function toolMessages(messages: ChatMessage[]) {
  return messages.filter((m) => m.role === 'tool');
}

describe('AgentLoop', () => {
  describe('a turn without tools', () => {
    it('returns the text, trimmed, and streams thinking and text through the coalescer', async () => {
      const { loop, events, model, tools, journal } = setup({
        turns: [[reasoning('Let me '), reasoning('think.'), text('  The answer'), text(' is 4. ')]],
      });

      const answer = await loop(checkpointOf()).answer();
      expect(answer).toBe('The answer is 4.');

      // The first delta of each kind at once, the rest coalesced; the turn's last text is carried
      // to the next write (here the answer's), not committed alone.
      const streamed = (type: string, text: string) => ({
        type,
        agent_name: 'supervisor',
        data: { text, step: 1 },
      });
      expect(events()).toEqual([
        streamed('agent_thinking', 'Let me '),
        streamed('agent_thinking', 'think.'),
        streamed('agent_response_chunk', '  The answer'),
      ]);
      await journal.complete(answer);
      expect(events().slice(3)).toEqual([
        streamed('agent_response_chunk', ' is 4. '),
        { type: 'agent_completed', agent_name: 'supervisor', data: { answer } },
      ]);
      expect(model.requests).toHaveLength(1);
      expect(model.requests[0].messages).toEqual([{ role: 'user', content: 'the question' }]);
      expect(model.requests[0].system).toContain('supervisor of a team of agents');
      expect(model.requests[0].tools).toEqual(tools.specs(['echo', 'send']));
    });

    it('numbers the streamed events with the step of the turn', async () => {
      const { loop, events } = setup({ turns: [[text('later')]] });

      await loop(checkpointOf(frame({ step: 3 }))).answer();

      expect(events()).toEqual([
        {
          type: 'agent_response_chunk',
          agent_name: 'supervisor',
          data: { text: 'later', step: 4 },
        },
      ]);
    });

    it('adds the tokens of each usage chunk to the run, under the model id', async () => {
      const { loop, runs, run, journal } = setup({
        turns: [
          [toolCall('c1', 'echo', { text: 'x' }), usage(10, 3)],
          [text('done'), usage(25, 7)],
        ],
      });

      const answer = await loop(checkpointOf()).answer();
      // The last turn's tokens go with the run's end (the executor's complete()).
      expect(runs.usage).toHaveLength(1);
      await journal.complete(answer);

      expect(runs.usage).toEqual([
        {
          runId: run.id,
          model: 'test-model',
          tokens: { input: 10, output: 3 },
        },
        {
          runId: run.id,
          model: 'test-model',
          tokens: { input: 25, output: 7 },
        },
      ]);
    });

    it('passes the run signal to the model', async () => {
      const { loop, model } = setup({ turns: [[text('ok')]] });
      const controller = new AbortController();

      await loop(checkpointOf(), controller.signal).answer();

      expect(model.requests[0].signal).toBe(controller.signal);
    });

    it('does not start a turn once the signal is aborted', async () => {
      const { loop, model } = setup({ turns: [[text('ok')]] });
      const controller = new AbortController();
      controller.abort(new Error('cancelled'));

      await expect(loop(checkpointOf(), controller.signal).answer()).rejects.toThrow('cancelled');
      expect(model.requests).toHaveLength(0);
    });
  });

  describe('tool calls', () => {
    it('gives each call a key of its own, even when the model reuses an id, and runs both', async () => {
      const { loop, events, echo, model } = setup({
        turns: [
          [toolCall('same', 'echo', { text: 'one' }), toolCall('same', 'echo', { text: 'two' })],
          [text('both done')],
        ],
      });

      await expect(loop(checkpointOf()).answer()).resolves.toBe('both done');

      expect(echo).toHaveBeenCalledTimes(2);
      const keys = echo.mock.calls.map(([, ctx]) => ctx.callId);
      expect(keys[0]).toMatch(UUID);
      expect(keys[1]).toMatch(UUID);
      expect(keys[0]).not.toBe(keys[1]);
      expect(echo.mock.calls.map(([input]) => input)).toEqual([{ text: 'one' }, { text: 'two' }]);
      expect(events()).toEqual([
        {
          type: 'tool_executing',
          agent_name: 'supervisor',
          data: { tool: 'echo', call_id: keys[0], arguments: { text: 'one' } },
        },
        {
          type: 'tool_completed',
          agent_name: 'supervisor',
          data: {
            tool: 'echo',
            call_id: keys[0],
            arguments: { text: 'one' },
            result: { echoed: 'one' },
            is_error: false,
          },
        },
        {
          type: 'tool_executing',
          agent_name: 'supervisor',
          data: { tool: 'echo', call_id: keys[1], arguments: { text: 'two' } },
        },
        {
          type: 'tool_completed',
          agent_name: 'supervisor',
          data: {
            tool: 'echo',
            call_id: keys[1],
            arguments: { text: 'two' },
            result: { echoed: 'two' },
            is_error: false,
          },
        },
        {
          type: 'agent_response_chunk',
          agent_name: 'supervisor',
          data: { text: 'both done', step: 2 },
        },
      ]);
      // The model matches results by its own ids, so it gets those back, in order.
      expect(model.requests[1].messages).toEqual([
        { role: 'user', content: 'the question' },
        {
          role: 'assistant',
          content: '',
          toolCalls: [
            { id: 'same', name: 'echo', arguments: { text: 'one' } },
            { id: 'same', name: 'echo', arguments: { text: 'two' } },
          ],
        },
        {
          role: 'tool',
          toolCallId: 'same',
          toolName: 'echo',
          content: '{"echoed":"one"}',
          isError: false,
        },
        {
          role: 'tool',
          toolCallId: 'same',
          toolName: 'echo',
          content: '{"echoed":"two"}',
          isError: false,
        },
      ]);
    });

    it('gives the tool the run, the thread, the agent and the signal', async () => {
      const { loop, echo, run } = setup({
        turns: [[toolCall('c1', 'echo', { text: 'x' })], [text('ok')]],
      });
      const controller = new AbortController();

      await loop(checkpointOf(), controller.signal).answer();

      const [, ctx] = echo.mock.calls[0];
      expect(ctx).toEqual(
        expect.objectContaining({
          userId: run.userId,
          runId: run.id,
          threadId: run.threadId,
          agentName: 'supervisor',
        }),
      );
      // The registry combines the run signal with the tool's deadline.
      expect(ctx.signal).toBeInstanceOf(AbortSignal);
      controller.abort();
      expect(ctx.signal.aborted).toBe(true);
    });

    it('commits each tool_completed with the checkpoint that no longer holds the call', async () => {
      const { loop, runs } = setup({
        turns: [[toolCall('a', 'echo', { text: '1' })], [text('done')]],
      });

      await loop(checkpointOf()).answer();

      const completed = runs.log.indexOf('event:tool_completed');
      // One commit: the event and the checkpoint without the call.
      expect(runs.log.slice(completed - 1, completed + 2)).toEqual([
        'commit',
        'event:tool_completed',
        'save',
      ]);
    });

    it('saves the checkpoint after the turn and after every tool call, the queue shrinking', async () => {
      const { loop, runs, run } = setup({
        turns: [
          [
            text('Checking.'),
            toolCall('a', 'echo', { text: '1' }),
            toolCall('b', 'echo', { text: '2' }),
          ],
          [text('done')],
        ],
      });

      await loop(checkpointOf()).answer();

      expect(runs.saves.every((s) => s.runId === run.id && s.version === 2)).toBe(true);
      const saved = runs.saves.map((s) => (s.state as RunCheckpoint).frames);
      expect(saved).toHaveLength(3);
      expect(saved.map((frames) => frames[0].queue.map((c) => c.id))).toEqual([
        ['a', 'b'],
        ['b'],
        [],
      ]);
      expect(saved.map((frames) => frames[0].messages.map((m) => m.role))).toEqual([
        ['user', 'assistant'],
        ['user', 'assistant', 'tool'],
        ['user', 'assistant', 'tool', 'tool'],
      ]);
      expect(saved.every((frames) => frames.length === 1 && frames[0].step === 1)).toBe(true);
      expect(saved[0][0].messages[1]).toEqual({
        role: 'assistant',
        content: 'Checking.',
        toolCalls: [
          { id: 'a', name: 'echo', arguments: { text: '1' } },
          { id: 'b', name: 'echo', arguments: { text: '2' } },
        ],
      });
      expect(saved[0][0].queue[0].key).toMatch(UUID);
    });

    it('runs the calls left in the queue of a checkpoint before asking the model again', async () => {
      const { loop, echo, model } = setup({ turns: [[text('finished')]] });
      const checkpoint = checkpointOf(
        frame({
          step: 1,
          messages: [
            { role: 'user', content: 'q' },
            {
              role: 'assistant',
              content: '',
              toolCalls: [{ id: 'c', name: 'echo', arguments: { text: 'left' } }],
            },
          ],
          queue: [queued('key-1', 'c', 'echo', { text: 'left' })],
        }),
      );

      await expect(loop(checkpoint).answer()).resolves.toBe('finished');

      expect(echo).toHaveBeenCalledTimes(1);
      expect(echo.mock.calls[0][1].callId).toBe('key-1');
      expect(toolMessages(model.requests[0].messages)).toEqual([
        {
          role: 'tool',
          toolCallId: 'c',
          toolName: 'echo',
          content: '{"echoed":"left"}',
          isError: false,
        },
      ]);
    });

    it('tells the model null when a tool resolves undefined', async () => {
      const { loop, echo, model } = setup({
        turns: [[toolCall('c', 'echo', { text: 'x' })], [text('ok')]],
      });
      echo.mockResolvedValueOnce(undefined as unknown as { echoed: string });

      await loop(checkpointOf()).answer();

      expect(toolMessages(model.requests[1].messages)[0]).toEqual(
        expect.objectContaining({ content: 'null', isError: false }),
      );
    });

    it('gives an error result for a tool the agent does not have, without asking or running it', async () => {
      const { loop, events, send, runs, run, model } = setup({
        agents: [RESEARCHER],
        run: { agent: 'researcher' },
        turns: [[toolCall('c', 'send', { to: 'bob' })], [text('could not')]],
      });

      await expect(loop(checkpointOf(frame({ agent: 'researcher' }))).answer()).resolves.toBe(
        'could not',
      );

      expect(send).not.toHaveBeenCalled();
      expect(runs.interrupts).toHaveLength(0);
      expect(runs.row(run.id).status).toBe('running');
      const completed = events().find((e) => e.type === 'tool_completed');
      expect(completed).toEqual({
        type: 'tool_completed',
        agent_name: 'researcher',
        data: expect.objectContaining({
          tool: 'send',
          result: { error: 'researcher has no tool send' },
          is_error: true,
        }),
      });
      expect(toolMessages(model.requests[1].messages)).toEqual([
        {
          role: 'tool',
          toolCallId: 'c',
          toolName: 'send',
          content: JSON.stringify({ error: 'researcher has no tool send' }),
          isError: true,
        },
      ]);
    });

    it('gives an error result for a call to a tool that does not exist', async () => {
      const { loop, model } = setup({
        turns: [[toolCall('c', 'nope', {})], [text('ok')]],
      });

      await loop(checkpointOf()).answer();

      expect(toolMessages(model.requests[1].messages)).toEqual([
        expect.objectContaining({
          toolName: 'nope',
          isError: true,
          content: expect.stringContaining('nope'),
        }),
      ]);
    });

    it('sends only the agent its own tools, and no delegate tool when there is nobody to delegate to', async () => {
      const { loop, model, tools } = setup({
        agents: [RESEARCHER],
        run: { agent: 'researcher' },
        turns: [[text('ok')]],
      });

      await loop(checkpointOf(frame({ agent: 'researcher' }))).answer();

      expect(model.requests[0].system).toBe('You research.');
      expect(model.requests[0].tools).toEqual(tools.specs(['echo']));
    });

    it('gives the supervisor a delegate tool listing the agents when there are some', async () => {
      const { loop, model } = setup({ agents: [RESEARCHER, MAILER], turns: [[text('ok')]] });

      await loop(checkpointOf()).answer();

      const delegate = model.requests[0].tools.find((t) => t.name === 'delegate');
      expect(model.requests[0].tools.map((t) => t.name)).toEqual(['echo', 'send', 'delegate']);
      expect(delegate?.description).toContain('researcher (finds things); mailer (sends mail)');
      expect(delegate?.parameters).toEqual(
        expect.objectContaining({
          properties: expect.objectContaining({
            agent: { type: 'string', enum: ['researcher', 'mailer'] },
          }),
          required: ['agent', 'task'],
        }),
      );
    });

    it(`stops after 8 model turns without an answer`, async () => {
      const turns = Array.from({ length: 9 }, (_, i) => [
        toolCall(`c${i}`, 'echo', { text: 'again' }),
      ]);
      const { loop, model, echo } = setup({ turns });

      await expect(loop(checkpointOf()).answer()).rejects.toThrow(
        'supervisor did not reach an answer within 8 steps',
      );

      expect(model.requests).toHaveLength(8);
      expect(echo).toHaveBeenCalledTimes(8);
    });

    it('does not ask the model again when the checkpoint has used up its steps', async () => {
      const { loop, model } = setup({ turns: [[text('too late')]] });

      await expect(loop(checkpointOf(frame({ step: 8 }))).answer()).rejects.toThrow(
        'within 8 steps',
      );
      expect(model.requests).toHaveLength(0);
    });

    it('fails the answer with the model error, writing nothing it held back', async () => {
      const { loop, events } = setup({
        turns: [
          // eslint-disable-next-line @typescript-eslint/require-await
          async function* () {
            yield text('partial');
            yield text(' and held');
            throw new Error('stream broke');
          },
        ],
      });

      await expect(loop(checkpointOf()).answer()).rejects.toThrow('stream broke');
      // The first delta went out at once; what was held behind it is not written.
      expect(events().map((e) => e.data)).toEqual([{ text: 'partial', step: 1 }]);
    });
  });

  describe('arguments out of bounds', () => {
    it('replaces arguments nested too deeply with a note, and the tool never sees them', async () => {
      let deep: Record<string, unknown> = { text: 'x' };
      for (let i = 0; i < 100; i++) deep = { text: 'x', inner: deep };
      const { loop, events, echo, model } = setup({
        turns: [[toolCall('c', 'echo', deep)], [text('fine')]],
      });

      await expect(loop(checkpointOf()).answer()).resolves.toBe('fine');

      expect(echo).not.toHaveBeenCalled();
      const executing = events().find((e) => e.type === 'tool_executing');
      expect(executing?.data.arguments).toEqual({
        invalid_arguments: expect.stringContaining('nested deeper than 32 levels'),
      });
      const [message] = toolMessages(model.requests[1].messages);
      expect(message).toEqual(expect.objectContaining({ toolName: 'echo', isError: true }));
    });
  });

  it('replaces arguments with more than 1,000 keys in all with a note', async () => {
    const wide = Object.fromEntries(Array.from({ length: 1_001 }, (_, i) => [`k${i}`, 1]));
    const { loop, events, echo } = setup({
      turns: [[toolCall('c', 'echo', { text: 'x', wide })], [text('fine')]],
    });

    await expect(loop(checkpointOf()).answer()).resolves.toBe('fine');

    expect(echo).not.toHaveBeenCalled();
    const executing = events().find((e) => e.type === 'tool_executing');
    expect(executing?.data.arguments).toEqual({
      invalid_arguments: expect.stringContaining('more than 1000 keys'),
    });
  });

  describe('approval', () => {
    it('opens an interrupt, moves the run to requires_action and pauses, the call at the head of the queue', async () => {
      const { loop, events, runs, run, send, echo, stored } = setup({
        turns: [[toolCall('e', 'echo', { text: 'first' }), toolCall('s', 'send', { to: 'bob' })]],
      });

      await expect(loop(checkpointOf()).answer()).rejects.toBeInstanceOf(RunPaused);

      expect(echo).toHaveBeenCalledTimes(1);
      expect(send).not.toHaveBeenCalled();
      const checkpoint = stored();
      expect(checkpoint.frames).toHaveLength(1);
      expect(checkpoint.frames[0].queue).toEqual([
        { id: 's', name: 'send', arguments: { to: 'bob' }, key: expect.stringMatching(UUID) },
      ]);
      const key = checkpoint.frames[0].queue[0].key;
      // Put to a person with the arguments the tool would get (defaults filled in), in the same
      // transaction that moves the run.
      expect(runs.interrupts).toEqual([
        expect.objectContaining({
          userId: run.userId,
          runId: run.id,
          callId: key,
          agentName: 'supervisor',
          tool: 'send',
          arguments: { to: 'bob', body: 'hello' },
          status: 'pending',
        }),
      ]);
      expect(runs.row(run.id).status).toBe('requires_action');
      expect(events().at(-1)).toEqual({
        type: 'approval_required',
        agent_name: 'supervisor',
        data: {
          interrupt_id: runs.interrupts[0].id,
          tool: 'send',
          call_id: key,
          arguments: { to: 'bob', body: 'hello' },
        },
      });
      expect(
        events()
          .filter((e) => e.data.tool === 'send')
          .map((e) => e.type),
      ).toEqual(['approval_required']);
      // The checkpoint that resumes the run is written with the pause, in one commit.
      expect(runs.log.slice(-3)).toEqual(['pause', 'save', 'event:approval_required']);
    });

    it('runs an approved call on resume without asking again', async () => {
      const { loop, events, runs, send, stored, answer, model } = setup({
        turns: [[toolCall('s', 'send', { to: 'bob' })]],
      });
      await expect(loop(checkpointOf()).answer()).rejects.toBeInstanceOf(RunPaused);
      const checkpoint = stored();
      const key = checkpoint.frames[0].queue[0].key;
      await answer(key, 'approved');
      model.script([text('Sent.')]);

      await expect(loop(checkpoint).answer()).resolves.toBe('Sent.');

      expect(runs.interrupts).toHaveLength(1);
      expect(send).toHaveBeenCalledTimes(1);
      expect(send.mock.calls[0][0]).toEqual({ to: 'bob', body: 'hello' });
      expect(send.mock.calls[0][1].callId).toBe(key);
      expect(events().map((e) => e.type)).toEqual([
        'approval_required',
        'approval_resolved',
        'tool_executing',
        'tool_completed',
        'agent_response_chunk',
      ]);
      expect(events()[3].data).toEqual({
        tool: 'send',
        call_id: key,
        arguments: { to: 'bob' },
        result: { sent_to: 'bob' },
        is_error: false,
      });
      expect(toolMessages(model.requests[1].messages)).toEqual([
        {
          role: 'tool',
          toolCallId: 's',
          toolName: 'send',
          content: '{"sent_to":"bob"}',
          isError: false,
        },
      ]);
    });

    it('asks again (same interrupt) when the call is still pending on resume', async () => {
      const { loop, send, stored, runs, run } = setup({
        turns: [[toolCall('s', 'send', { to: 'bob' })]],
      });
      await expect(loop(checkpointOf()).answer()).rejects.toBeInstanceOf(RunPaused);
      const checkpoint = stored();
      runs.reopen(run.id);

      await expect(loop(checkpoint).answer()).rejects.toBeInstanceOf(RunPaused);

      expect(send).not.toHaveBeenCalled();
      expect(runs.interrupts).toHaveLength(1);
      expect(runs.row(run.id).status).toBe('requires_action');
    });

    it('tells the model a rejected call was rejected, with the message, and writes no tool events', async () => {
      const { loop, events, send, stored, answer, model } = setup({
        turns: [[toolCall('s', 'send', { to: 'bob' })]],
      });
      await expect(loop(checkpointOf()).answer()).rejects.toBeInstanceOf(RunPaused);
      const checkpoint = stored();
      await answer(checkpoint.frames[0].queue[0].key, 'rejected', 'not to bob');
      model.script([text('I did not send it.')]);

      await expect(loop(checkpoint).answer()).resolves.toBe('I did not send it.');

      expect(send).not.toHaveBeenCalled();
      expect(events().some((e) => e.type === 'tool_executing' || e.type === 'tool_completed')).toBe(
        false,
      );
      expect(toolMessages(model.requests[1].messages)).toEqual([
        {
          role: 'tool',
          toolCallId: 's',
          toolName: 'send',
          content: JSON.stringify({ rejected: true, message: 'not to bob' }),
          isError: true,
        },
      ]);
    });

    it('does not put a call with invalid arguments to a person: the model gets the validation error', async () => {
      const { loop, events, send, runs, run, model } = setup({
        turns: [[toolCall('s', 'send', { to: 42 })], [text('Let me fix that.')]],
      });

      await expect(loop(checkpointOf()).answer()).resolves.toBe('Let me fix that.');

      expect(runs.interrupts).toHaveLength(0);
      expect(send).not.toHaveBeenCalled();
      expect(runs.row(run.id).status).toBe('running');
      expect(events().map((e) => e.type)).toEqual([
        'tool_executing',
        'tool_completed',
        'agent_response_chunk',
      ]);
      const [message] = toolMessages(model.requests[1].messages);
      expect(message).toEqual(expect.objectContaining({ toolName: 'send', isError: true }));
      const result = JSON.parse((message as { content: string }).content);
      expect(result.error).toMatch(/^invalid arguments: .*to/);
      expect(events()[1].data.result).toEqual(result);
    });
  });

  describe('delegation', () => {
    it('runs the sub-agent in a frame of its own and gives the supervisor {agent, answer}', async () => {
      const { loop, events, model, echo, runs, tools } = setup({
        agents: [RESEARCHER],
        turns: [
          [toolCall('d', 'delegate', { agent: 'researcher', task: 'find x' })],
          [reasoning('hmm'), toolCall('e', 'echo', { text: 'x' })],
          [text('x is found')],
          [text('The researcher found x.')],
        ],
      });

      await expect(loop(checkpointOf()).answer()).resolves.toBe('The researcher found x.');

      expect(model.requests.map((r) => r.system)).toEqual([
        expect.stringContaining('supervisor'),
        'You research.',
        'You research.',
        expect.stringContaining('supervisor'),
      ]);
      expect(model.requests[1].messages).toEqual([{ role: 'user', content: 'find x' }]);
      expect(model.requests[1].tools).toEqual(tools.specs(['echo']));
      expect(echo.mock.calls[0][1].agentName).toBe('researcher');

      const afterTurn = runs.saves[0].state as RunCheckpoint;
      const key = afterTurn.frames[0].queue[0].key;
      const echoKey = echo.mock.calls[0][1].callId;
      expect(events()).toEqual([
        {
          type: 'tool_executing',
          agent_name: 'supervisor',
          data: {
            tool: 'delegate',
            call_id: key,
            arguments: { agent: 'researcher', task: 'find x' },
          },
        },
        { type: 'agent_thinking', agent_name: 'researcher', data: { text: 'hmm', step: 1 } },
        {
          type: 'tool_executing',
          agent_name: 'researcher',
          data: { tool: 'echo', call_id: echoKey, arguments: { text: 'x' } },
        },
        {
          type: 'tool_completed',
          agent_name: 'researcher',
          data: {
            tool: 'echo',
            call_id: echoKey,
            arguments: { text: 'x' },
            result: { echoed: 'x' },
            is_error: false,
          },
        },
        {
          type: 'agent_response_chunk',
          agent_name: 'researcher',
          data: { text: 'x is found', step: 2 },
        },
        {
          type: 'tool_completed',
          agent_name: 'supervisor',
          data: {
            tool: 'delegate',
            call_id: key,
            arguments: { agent: 'researcher', task: 'find x' },
            result: { agent: 'researcher', answer: 'x is found' },
            is_error: false,
          },
        },
        {
          type: 'agent_response_chunk',
          agent_name: 'supervisor',
          data: { text: 'The researcher found x.', step: 2 },
        },
      ]);
      expect(toolMessages(model.requests[3].messages)).toEqual([
        {
          role: 'tool',
          toolCallId: 'd',
          toolName: 'delegate',
          content: JSON.stringify({ agent: 'researcher', answer: 'x is found' }),
          isError: false,
        },
      ]);
    });

    it('checkpoints the sub-agent frame while it works and removes it after', async () => {
      const { loop, runs } = setup({
        agents: [RESEARCHER],
        turns: [
          [toolCall('d', 'delegate', { agent: 'researcher', task: 'find x' })],
          [toolCall('e', 'echo', { text: 'x' })],
          [text('found')],
          [text('done')],
        ],
      });

      await loop(checkpointOf()).answer();

      const saved = runs.saves.map((s) => s.state as RunCheckpoint);
      expect(saved.map((c) => c.frames.map((f) => `${f.agent}:${f.queue.length}`))).toEqual([
        ['supervisor:1'], // the turn that delegates
        ['supervisor:1', 'researcher:0'], // the sub-agent starts
        ['supervisor:1', 'researcher:1'], // its turn
        ['supervisor:1', 'researcher:0'], // its tool call
        ['supervisor:0'], // its answer, the frame gone
      ]);
      expect(saved[1].frames[1]).toEqual({
        agent: 'researcher',
        step: 0,
        messages: [{ role: 'user', content: 'find x' }],
        queue: [],
      });
    });

    it('continues the sub-agent of a checkpoint without announcing the delegate call again', async () => {
      const { loop, events, model } = setup({
        agents: [RESEARCHER],
        turns: [[text('found it')], [text('final')]],
      });
      const delegateCall = queued('dk', 'd', 'delegate', { agent: 'researcher', task: 'find x' });
      const checkpoint = checkpointOf(
        frame({
          step: 1,
          messages: [
            { role: 'user', content: 'q' },
            {
              role: 'assistant',
              content: '',
              toolCalls: [{ id: 'd', name: 'delegate', arguments: delegateCall.arguments }],
            },
          ],
          queue: [delegateCall],
        }),
        frame({
          agent: 'researcher',
          step: 1,
          messages: [
            { role: 'user', content: 'find x' },
            { role: 'assistant', content: 'looking' },
          ],
        }),
      );

      await expect(loop(checkpoint).answer()).resolves.toBe('final');

      expect(model.requests[0].system).toBe('You research.');
      expect(model.requests[0].messages).toEqual([
        { role: 'user', content: 'find x' },
        { role: 'assistant', content: 'looking' },
      ]);
      expect(events().filter((e) => e.data.tool === 'delegate')).toEqual([
        {
          type: 'tool_completed',
          agent_name: 'supervisor',
          data: {
            tool: 'delegate',
            call_id: 'dk',
            arguments: { agent: 'researcher', task: 'find x' },
            result: { agent: 'researcher', answer: 'found it' },
            is_error: false,
          },
        },
      ]);
      expect(events()[0]).toEqual({
        type: 'agent_response_chunk',
        agent_name: 'researcher',
        data: { text: 'found it', step: 2 },
      });
    });

    it('pauses the whole run when the sub-agent needs approval, and resumes inside the sub-agent', async () => {
      const { loop, events, runs, run, send, stored, answer, model } = setup({
        agents: [MAILER],
        turns: [
          [toolCall('d', 'delegate', { agent: 'mailer', task: 'mail bob' })],
          [toolCall('s', 'send', { to: 'bob' })],
        ],
      });

      await expect(loop(checkpointOf()).answer()).rejects.toBeInstanceOf(RunPaused);

      const checkpoint = stored();
      expect(checkpoint.frames.map((f) => f.agent)).toEqual(['supervisor', 'mailer']);
      expect(checkpoint.frames[0].queue.map((c) => c.name)).toEqual(['delegate']);
      expect(checkpoint.frames[1].queue.map((c) => c.name)).toEqual(['send']);
      const key = checkpoint.frames[1].queue[0].key;
      expect(runs.interrupts[0]).toEqual(
        expect.objectContaining({ agentName: 'mailer', callId: key, tool: 'send' }),
      );
      expect(runs.row(run.id).status).toBe('requires_action');
      expect(events().at(-1)).toEqual(
        expect.objectContaining({ type: 'approval_required', agent_name: 'mailer' }),
      );

      await answer(key, 'approved');
      model.script([text('mailed')], [text('Bob has been mailed.')]);

      await expect(loop(checkpoint).answer()).resolves.toBe('Bob has been mailed.');

      expect(model.requests[2].system).toBe('You send mail.');
      expect(send).toHaveBeenCalledTimes(1);
      expect(send.mock.calls[0][1]).toEqual(
        expect.objectContaining({ agentName: 'mailer', callId: key }),
      );
      expect(runs.interrupts).toHaveLength(1);
      expect(
        events()
          .filter((e) => e.data.tool === 'delegate')
          .map((e) => e.type),
      ).toEqual(['tool_executing', 'tool_completed']);
      expect(
        events().find((e) => e.type === 'tool_completed' && e.data.tool === 'delegate')?.data
          .result,
      ).toEqual({
        agent: 'mailer',
        answer: 'mailed',
      });
      expect(
        events().find((e) => e.type === 'tool_completed' && e.data.tool === 'send')?.agent_name,
      ).toBe('mailer');
    });

    it.each([
      ['an agent not in the list', { agent: 'nobody', task: 'x' }],
      ['no task', { agent: 'researcher' }],
      ['an empty task', { agent: 'researcher', task: '' }],
    ])('gives the supervisor an error for a delegate call with %s', async (_, args) => {
      const { loop, model, events } = setup({
        agents: [RESEARCHER],
        turns: [[toolCall('d', 'delegate', args)], [text('ok')]],
      });

      await loop(checkpointOf()).answer();

      expect(model.requests).toHaveLength(2);
      expect(toolMessages(model.requests[1].messages)).toEqual([
        {
          role: 'tool',
          toolCallId: 'd',
          toolName: 'delegate',
          content: JSON.stringify({ error: 'delegate needs an agent of the list and a task' }),
          isError: true,
        },
      ]);
      // Clients see the failed call like any other.
      const calls = events().filter((e) => e.type.startsWith('tool_'));
      expect(calls.map((e) => [e.type, e.agent_name, e.data.is_error])).toEqual([
        ['tool_executing', 'supervisor', undefined],
        ['tool_completed', 'supervisor', true],
      ]);
    });

    it('does not let a sub-agent delegate', async () => {
      const { loop, model } = setup({
        agents: [RESEARCHER, MAILER],
        run: { agent: 'researcher' },
        turns: [[toolCall('d', 'delegate', { agent: 'mailer', task: 'x' })], [text('ok')]],
      });

      await loop(checkpointOf(frame({ agent: 'researcher' }))).answer();

      expect(model.requests.map((r) => r.system)).toEqual(['You research.', 'You research.']);
      expect(toolMessages(model.requests[1].messages)[0]).toEqual(
        expect.objectContaining({
          content: JSON.stringify({ error: 'researcher has no tool delegate' }),
          isError: true,
        }),
      );
    });
  });

  it('fails when the agent of a frame is not registered', async () => {
    const { loop, model } = setup({ turns: [[text('ok')]] });

    await expect(loop(checkpointOf(frame({ agent: 'ghost' }))).answer()).rejects.toThrow(
      'agent ghost is not registered',
    );
    expect(model.requests).toHaveLength(0);
  });

  it('stops with RunFencedError when the run is no longer running', async () => {
    const { loop, runs, run, echo } = setup({
      turns: [[toolCall('c', 'echo', { text: 'x' })], [text('ok')]],
    });
    runs.cancel(run.id);

    await expect(loop(checkpointOf()).answer()).rejects.toThrow(
      `run ${run.id} has ended or is held by a newer claim`,
    );
    expect(echo).not.toHaveBeenCalled();
  });
});
