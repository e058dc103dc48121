import { Logger } from '@nestjs/common';
import { z } from 'zod';
import { EventInput } from '../runs/state-persistence.service';
import { Run } from '../runs/run.entity';
import { Message } from '../threads/message.entity';
import { ThreadStore } from '../threads/thread.store';
import { AgentOptions } from './agent-definition';
import { Frame, RunCheckpoint } from './agent-loop';
import {
  deferred,
  failingTurn,
  FakeApprovals,
  FakeBus,
  FakePersistence,
  hangingTurn,
  noDiscovery,
  runOf,
  ScriptedModel,
  text,
  toolCall,
  Turn,
} from './agent-loop.fixture';
import { AgentRegistry } from './agent.registry';
import { ModelError } from './llm/chat-model.port';
import { ModelProvider } from './llm/model.provider';
import { ToolContext } from './tools/agent-tool';
import { ToolRegistry } from './tools/tool.registry';
import { SupervisorAgent } from './supervisor.agent';

const RESEARCHER: AgentOptions = {
  name: 'researcher',
  description: 'finds things',
  instructions: 'You research.',
  tools: ['echo'],
};

function setup(turns: Turn[] = []) {
  const bus = new FakeBus();
  const persistence = new FakePersistence(bus);
  const approvals = new FakeApprovals();
  const tools = new ToolRegistry(noDiscovery());
  const echo = jest.fn((input: { text: string }, _ctx: ToolContext) =>
    Promise.resolve({ echoed: input.text }),
  );
  tools.register(
    { name: 'echo', description: 'echoes text', input: z.object({ text: z.string() }) },
    { execute: echo },
  );
  const send = jest.fn((input: { to: string }, _ctx: ToolContext) =>
    Promise.resolve({ sent_to: input.to }),
  );
  tools.register(
    {
      name: 'send',
      description: 'sends a message',
      input: z.object({ to: z.string() }),
      requiresApproval: true,
    },
    { execute: send },
  );
  const agents = new AgentRegistry(noDiscovery(), tools);
  agents.register(RESEARCHER);
  const model = new ScriptedModel('test-model', turns);
  const models = { get: jest.fn((_name?: string) => model) };
  const history: Pick<Message, 'role' | 'content'>[] = [];
  const threads = {
    recentMessages: jest.fn((_userId: string, _threadId: string, _limit: number) =>
      Promise.resolve(history.map((m) => ({ ...m, id: 'm', runId: null }) as Message)),
    ),
  };
  const supervisor = new SupervisorAgent(
    models as unknown as ModelProvider,
    tools,
    agents,
    approvals.asStore(),
    persistence.asService(),
    threads as unknown as ThreadStore,
    bus,
  );
  const logError = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  const logWarn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  // Starts the run and waits until the supervisor lets go of it.
  const execute = async (run: Run) => {
    supervisor.start(run);
    await bus.released(run.id);
  };
  const events = (run: Run) =>
    persistence.eventsOf(run.id).map(({ type, agent_name, data }) => ({ type, agent_name, data }));
  return {
    bus,
    persistence,
    approvals,
    echo,
    send,
    model,
    models,
    history,
    threads,
    supervisor,
    logError,
    logWarn,
    execute,
    events,
  };
}

function frame(overrides: Partial<Frame> = {}): Frame {
  return {
    agent: 'supervisor',
    step: 1,
    messages: [{ role: 'user', content: 'the question' }],
    queue: [],
    ...overrides,
  };
}

function checkpointOf(...frames: Frame[]): RunCheckpoint {
  return { version: 2, frames };
}

// A running run an earlier process left behind: its events so far and its checkpoint.
function leftBehind(
  persistence: FakePersistence,
  events: EventInput[],
  checkpoint: RunCheckpoint = checkpointOf(frame()),
): Run {
  return persistence.addRun(runOf({ status: 'running' }), events, checkpoint);
}

const RESTARTED = { reason: 'the server restarted' };

describe('SupervisorAgent', () => {
  afterEach(() => jest.restoreAllMocks());

  describe('start', () => {
    it('starts a queued run with agent_started, then answers from the thread history', async () => {
      const { persistence, execute, events, model, models, history, threads } = setup([
        [text('It is 4.')],
      ]);
      history.push({ role: 'user', content: 'earlier' }, { role: 'assistant', content: 'reply' });
      const run = persistence.addRun(runOf({ status: 'queued', model: 'm-1', query: 'And 2+2?' }));

      await execute(run);

      expect(models.get).toHaveBeenCalledWith('m-1');
      expect(threads.recentMessages).toHaveBeenCalledWith(run.userId, run.threadId, 50);
      expect(model.requests[0].messages).toEqual([
        { role: 'user', content: 'earlier' },
        { role: 'assistant', content: 'reply' },
      ]);
      expect(events(run)).toEqual([
        {
          type: 'agent_started',
          agent_name: 'supervisor',
          data: { agent: 'supervisor', model: 'test-model', query: 'And 2+2?' },
        },
        {
          type: 'agent_response_chunk',
          agent_name: 'supervisor',
          data: { text: 'It is 4.', step: 1 },
        },
        { type: 'agent_completed', agent_name: 'supervisor', data: { answer: 'It is 4.' } },
      ]);
      expect(persistence.row(run.id)).toEqual(
        expect.objectContaining({ status: 'complete', result: 'It is 4.' }),
      );
    });

    it('asks for the default model when the run names none', async () => {
      const { persistence, execute, models } = setup([[text('ok')]]);
      const run = persistence.addRun(runOf({ status: 'queued', model: null }));

      await execute(run);

      expect(models.get).toHaveBeenCalledWith(undefined);
    });

    it('runs the agent the run names', async () => {
      const { persistence, execute, model, events } = setup([[text('found')]]);
      const run = persistence.addRun(runOf({ status: 'queued', agent: 'researcher' }));

      await execute(run);

      expect(model.requests[0].system).toBe('You research.');
      expect(events(run).at(-1)).toEqual({
        type: 'agent_completed',
        agent_name: 'researcher',
        data: { answer: 'found' },
      });
    });

    it('ignores a run it is already executing', async () => {
      const { persistence, supervisor, bus, model, events } = setup([[text('once')]]);
      const run = leftBehind(persistence, [
        { type: 'agent_response_chunk', data: { text: 'partial', step: 1 } },
      ]);

      supervisor.start(run);
      supervisor.start(run);
      await bus.released(run.id);

      expect(model.requests).toHaveLength(1);
      expect(events(run).map((e) => e.type)).toEqual([
        'agent_response_chunk',
        'agent_resumed',
        'agent_response_chunk',
        'agent_completed',
      ]);
      expect(bus.listenerCount(run.id)).toBe(0);
    });

    it('does nothing more for a run cancelled before it started', async () => {
      const { persistence, execute, model, events, logError } = setup([[text('never')]]);
      const run = persistence.addRun(runOf({ status: 'queued' }));
      await persistence.transition(
        run.userId,
        run.id,
        { from: ['queued'], to: 'cancelled' },
        { type: 'agent_cancelled', data: {} },
      );
      const loadCheckpoint = jest.spyOn(persistence, 'loadCheckpoint');

      await execute(run); // the row it got still says queued

      expect(model.requests).toHaveLength(0);
      expect(loadCheckpoint).not.toHaveBeenCalled();
      expect(events(run).map((e) => e.type)).toEqual(['agent_cancelled']);
      expect(persistence.row(run.id).status).toBe('cancelled');
      expect(logError).not.toHaveBeenCalled();
    });

    it('does not execute a run that waits for approval', async () => {
      const { persistence, execute, model, models, events } = setup([[text('never')]]);
      const run = persistence.addRun(runOf({ status: 'requires_action' }));

      await execute(run);

      expect(models.get).not.toHaveBeenCalled();
      expect(model.requests).toHaveLength(0);
      expect(events(run)).toEqual([]);
    });

    it('leaves a run that pauses for approval waiting, without failing it', async () => {
      const { persistence, execute, events, send, approvals, logError } = setup([
        [toolCall('s', 'send', { to: 'bob' })],
      ]);
      const run = persistence.addRun(runOf({ status: 'queued' }));

      await execute(run);

      expect(send).not.toHaveBeenCalled();
      expect(approvals.interrupts).toHaveLength(1);
      expect(persistence.row(run.id).status).toBe('requires_action');
      expect(events(run).map((e) => e.type)).toEqual(['agent_started', 'approval_required']);
      expect(logError).not.toHaveBeenCalled();
    });

    it('resumes a run after its approval without an agent_resumed, running the approved call', async () => {
      const { persistence, execute, events, send, approvals, model } = setup([
        [toolCall('s', 'send', { to: 'bob' })],
      ]);
      const run = persistence.addRun(runOf({ status: 'queued' }));
      await execute(run);
      const key = approvals.interrupts[0].callId;
      approvals.decide(key, 'approved');
      await persistence.transition(
        run.userId,
        run.id,
        { from: ['requires_action'], to: 'running' },
        { type: 'approval_resolved', data: { call_id: key, decision: 'approve' } },
      );
      model.script([text('Sent.')]);

      await execute(persistence.row(run.id));

      expect(send).toHaveBeenCalledTimes(1);
      expect(events(run).map((e) => e.type)).toEqual([
        'agent_started',
        'approval_required',
        'approval_resolved',
        'tool_executing',
        'tool_completed',
        'agent_response_chunk',
        'agent_completed',
      ]);
      expect(persistence.row(run.id).result).toBe('Sent.');
    });
  });

  describe('resuming a running run', () => {
    it('tells clients it resumed, as the agent of the last event, then continues from the checkpoint', async () => {
      const { persistence, execute, events, model } = setup([[text('found')], [text('final')]]);
      const run = leftBehind(
        persistence,
        [
          { type: 'agent_started', data: {} },
          {
            type: 'tool_executing',
            data: {
              tool: 'delegate',
              call_id: 'dk',
              arguments: { agent: 'researcher', task: 't' },
            },
          },
          {
            type: 'agent_response_chunk',
            agentName: 'researcher',
            data: { text: 'half an ans', step: 1 },
          },
        ],
        delegating(),
      );

      await execute(run);

      expect(events(run).slice(3, 5)).toEqual([
        {
          type: 'agent_resumed',
          agent_name: 'researcher',
          data: { ...RESTARTED, after_seq: 3 },
        },
        {
          type: 'agent_response_chunk',
          agent_name: 'researcher',
          data: { text: 'found', step: 1 },
        },
      ]);
      expect(model.requests[0].system).toBe('You research.');
      expect(persistence.row(run.id).result).toBe('final');
    });

    it('closes a tool call left executing with an error, then runs it again', async () => {
      const { persistence, execute, events, echo } = setup([[text('done')]]);
      const executing = { tool: 'echo', call_id: 'ek', arguments: { text: 'again' } };
      const run = leftBehind(
        persistence,
        [
          { type: 'agent_started', data: {} },
          { type: 'tool_executing', data: executing },
        ],
        checkpointOf(
          frame({
            messages: [
              { role: 'user', content: 'q' },
              {
                role: 'assistant',
                content: '',
                toolCalls: [{ id: 'e', name: 'echo', arguments: { text: 'again' } }],
              },
            ],
            queue: [{ key: 'ek', id: 'e', name: 'echo', arguments: { text: 'again' } }],
          }),
        ),
      );

      await execute(run);

      expect(events(run).slice(2)).toEqual([
        { type: 'agent_resumed', agent_name: 'supervisor', data: { ...RESTARTED, after_seq: 2 } },
        {
          type: 'tool_completed',
          agent_name: 'supervisor',
          data: {
            ...executing,
            result: { error: 'interrupted by a restart; running it again' },
            is_error: true,
          },
        },
        { type: 'tool_executing', agent_name: 'supervisor', data: executing },
        {
          type: 'tool_completed',
          agent_name: 'supervisor',
          data: { ...executing, result: { echoed: 'again' }, is_error: false },
        },
        { type: 'agent_response_chunk', agent_name: 'supervisor', data: { text: 'done', step: 2 } },
        { type: 'agent_completed', agent_name: 'supervisor', data: { answer: 'done' } },
      ]);
      expect(echo).toHaveBeenCalledTimes(1);
      expect(echo.mock.calls[0][1].callId).toBe('ek');
    });

    it('closes a sub-agent tool call left executing as that sub-agent', async () => {
      const { persistence, execute, events } = setup([[text('found')], [text('final')]]);
      const executing = { tool: 'echo', call_id: 'ek', arguments: { text: 'x' } };
      const checkpoint = delegating();
      checkpoint.frames[1].queue = [{ key: 'ek', id: 'e', name: 'echo', arguments: { text: 'x' } }];
      const run = leftBehind(
        persistence,
        [{ type: 'tool_executing', agentName: 'researcher', data: executing }],
        checkpoint,
      );

      await execute(run);

      expect(events(run).slice(1, 3)).toEqual([
        { type: 'agent_resumed', agent_name: 'researcher', data: { ...RESTARTED, after_seq: 1 } },
        {
          type: 'tool_completed',
          agent_name: 'researcher',
          data: {
            ...executing,
            result: { error: 'interrupted by a restart; running it again' },
            is_error: true,
          },
        },
      ]);
    });

    it('does not close a delegate call left executing: its sub-agent carries on', async () => {
      const { persistence, execute, events, model } = setup([[text('found')], [text('final')]]);
      const announced = {
        tool: 'delegate',
        call_id: 'dk',
        arguments: { agent: 'researcher', task: 't' },
      };
      const run = leftBehind(
        persistence,
        [
          { type: 'agent_started', data: {} },
          { type: 'tool_executing', data: announced },
        ],
        delegating(),
      );

      await execute(run);

      expect(events(run).slice(2)).toEqual([
        { type: 'agent_resumed', agent_name: 'supervisor', data: { ...RESTARTED, after_seq: 2 } },
        {
          type: 'agent_response_chunk',
          agent_name: 'researcher',
          data: { text: 'found', step: 1 },
        },
        {
          type: 'tool_completed',
          agent_name: 'supervisor',
          data: { ...announced, result: { agent: 'researcher', answer: 'found' }, is_error: false },
        },
        {
          type: 'agent_response_chunk',
          agent_name: 'supervisor',
          data: { text: 'final', step: 2 },
        },
        { type: 'agent_completed', agent_name: 'supervisor', data: { answer: 'final' } },
      ]);
      expect(model.requests[0].system).toBe('You research.');
    });

    it('writes nothing before continuing when the last event is approval_resolved', async () => {
      const { persistence, execute, events } = setup([[text('done')]]);
      const run = leftBehind(persistence, [
        { type: 'agent_started', data: {} },
        { type: 'approval_resolved', data: { call_id: 'k', decision: 'approve' } },
      ]);

      await execute(run);

      expect(events(run).map((e) => e.type)).toEqual([
        'agent_started',
        'approval_resolved',
        'agent_response_chunk',
        'agent_completed',
      ]);
    });

    it('writes no agent_resumed for a running run without events', async () => {
      const { persistence, execute, events } = setup([[text('done')]]);
      const run = leftBehind(persistence, []);

      await execute(run);

      expect(events(run).map((e) => e.type)).toEqual(['agent_response_chunk', 'agent_completed']);
    });
  });

  describe('failures', () => {
    it('ends the run failed with the code and message of a model error', async () => {
      const { persistence, execute, events, logWarn, logError } = setup([
        failingTurn(new ModelError('The model provider refused the API key.', 'auth'), [
          text('partial'),
        ]),
      ]);
      const run = persistence.addRun(runOf({ status: 'queued' }));

      await execute(run);

      expect(persistence.row(run.id)).toEqual(
        expect.objectContaining({
          status: 'failed',
          error: 'The model provider refused the API key.',
        }),
      );
      expect(events(run)).toEqual([
        expect.objectContaining({ type: 'agent_started' }),
        {
          type: 'agent_error',
          agent_name: 'supervisor',
          data: { message: 'The model provider refused the API key.', code: 'auth' },
        },
      ]);
      expect(logWarn).toHaveBeenCalledWith(expect.stringContaining(run.id));
      expect(logError).not.toHaveBeenCalled();
    });

    it('ends the run failed with a reference, not the internal text, for an unknown error', async () => {
      const internal = 'relation "secret_table" does not exist at /srv/app/db.ts';
      const { persistence, execute, events, logError } = setup([failingTurn(new Error(internal))]);
      const run = persistence.addRun(runOf({ status: 'queued' }));

      await execute(run);

      const error = events(run).at(-1)!;
      expect(error.type).toBe('agent_error');
      expect(error.data.code).toBe('agent_failed');
      const message = String(error.data.message);
      const match =
        /^The agent failed unexpectedly \(reference ([0-9a-f-]{36})\); the server log has the details\.$/.exec(
          message,
        );
      expect(match).not.toBeNull();
      expect(message).not.toContain('secret_table');
      expect(persistence.row(run.id)).toEqual(
        expect.objectContaining({ status: 'failed', error: message }),
      );
      // The log line has the details, under the same reference.
      expect(logError).toHaveBeenCalledWith(expect.stringContaining(`reference ${match![1]}`));
      expect(logError).toHaveBeenCalledWith(expect.stringContaining('secret_table'));
    });

    it('fails a run that does not reach an answer', async () => {
      const turns = Array.from({ length: 8 }, (_, i) => [
        toolCall(`c${i}`, 'echo', { text: 'again' }),
      ]);
      const { persistence, execute, events } = setup(turns);
      const run = persistence.addRun(runOf({ status: 'queued' }));

      await execute(run);

      expect(persistence.row(run.id).status).toBe('failed');
      expect(events(run).at(-1)?.data).toEqual({
        code: 'step_limit',
        message: 'supervisor did not reach an answer within 8 steps',
      });
    });

    it('logs, and does not throw, when the failure cannot be recorded', async () => {
      const { persistence, execute, logError } = setup([failingTurn(new Error('boom'))]);
      const run = persistence.addRun(runOf({ status: 'queued' }));
      const transition = persistence.transition.bind(persistence);
      jest
        .spyOn(persistence, 'transition')
        .mockImplementation((userId, runId, change, event) =>
          change.to === 'failed'
            ? Promise.reject(new Error('database is down'))
            : transition(userId, runId, change, event),
        );

      await execute(run);

      expect(logError).toHaveBeenCalledWith(
        `Could not record failure of run ${run.id}: Error: database is down`,
      );
      expect(persistence.row(run.id).status).toBe('running');
    });

    it('stops, without failing the run, when someone else ends it', async () => {
      const started = deferred();
      const { persistence, supervisor, bus, events, logError } = setup([hangingTurn(started)]);
      const run = persistence.addRun(runOf({ status: 'queued' }));

      supervisor.start(run);
      await started.promise;
      await persistence.transition(
        run.userId,
        run.id,
        { from: ['queued', 'running', 'requires_action'], to: 'cancelled' },
        { type: 'agent_cancelled', data: {} },
      );
      await bus.released(run.id);

      expect(persistence.row(run.id).status).toBe('cancelled');
      expect(events(run).map((e) => e.type)).toEqual(['agent_started', 'agent_cancelled']);
      expect(logError).not.toHaveBeenCalled();
    });
  });

  describe('lifecycle', () => {
    it('onModuleDestroy aborts what is running without failing it', async () => {
      const started = deferred();
      const { persistence, supervisor, model, events, logError } = setup([hangingTurn(started)]);
      const run = persistence.addRun(runOf({ status: 'queued' }));

      supervisor.start(run);
      await started.promise;
      await supervisor.onModuleDestroy();

      expect(model.requests[0].signal.aborted).toBe(true);
      expect(model.requests[0].signal.reason).toBe('shutdown');
      expect(persistence.row(run.id).status).toBe('running');
      expect(events(run).map((e) => e.type)).toEqual(['agent_started']);
      expect(logError).not.toHaveBeenCalled();
    });

    it('onModuleDestroy resolves at once when nothing runs', async () => {
      const { supervisor } = setup();

      await expect(supervisor.onModuleDestroy()).resolves.toBeUndefined();
    });

    it('onApplicationBootstrap starts the runnable runs, and only those', async () => {
      const { persistence, supervisor, bus, model, events } = setup([[text('one')], [text('two')]]);
      const queued = persistence.addRun(runOf({ status: 'queued' }));
      const running = leftBehind(persistence, [{ type: 'agent_started', data: {} }]);
      const waiting = persistence.addRun(runOf({ status: 'requires_action' }));

      supervisor.onApplicationBootstrap();
      await Promise.all([bus.released(queued.id), bus.released(running.id)]);

      expect(model.requests).toHaveLength(2);
      expect(persistence.row(queued.id).status).toBe('complete');
      expect(persistence.row(running.id).status).toBe('complete');
      expect(persistence.row(waiting.id).status).toBe('requires_action');
      expect(events(waiting)).toEqual([]);
    });

    it('onApplicationBootstrap logs when the runs cannot be found', async () => {
      const { persistence, supervisor, logError } = setup();
      const logged = deferred();
      logError.mockImplementation(() => logged.resolve());
      jest.spyOn(persistence, 'findRunnableRuns').mockRejectedValue(new Error('no database'));

      supervisor.onApplicationBootstrap();
      await logged.promise;

      expect(logError).toHaveBeenCalledWith('Could not resume runs: Error: no database');
    });
  });
});

// A supervisor working on a delegate call: the researcher's frame, one step in, with no answer yet.
function delegating(): RunCheckpoint {
  const args = { agent: 'researcher', task: 't' };
  return checkpointOf(
    frame({
      messages: [
        { role: 'user', content: 'q' },
        {
          role: 'assistant',
          content: '',
          toolCalls: [{ id: 'd', name: 'delegate', arguments: args }],
        },
      ],
      queue: [{ key: 'dk', id: 'd', name: 'delegate', arguments: args }],
    }),
    frame({ agent: 'researcher', step: 0, messages: [{ role: 'user', content: 't' }] }),
  );
}
