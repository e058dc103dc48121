import { Logger } from '@nestjs/common';
import { z } from 'zod';
import { EventInput } from '../runs/run-event.log';
import { Run } from '../runs/run.entity';
import { AgentOptions } from './agent-definition';
import { Frame, RunCheckpoint } from './agent-loop';
import {
  deferred,
  failingTurn,
  hangingTurn,
  noDiscovery,
  reasoning,
  runOf,
  ScriptedModel,
  text,
  toolCall,
  Turn,
} from '../../test/fixtures/agent-loop.fixture';
import { FakeRuns } from '../../test/fixtures/fake-runs';
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
  const runs = new FakeRuns();
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
  const supervisor = new SupervisorAgent(models as unknown as ModelProvider, tools, agents, runs);
  const logError = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  const logWarn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  // Executes the run for a job, as the queue's worker does, until the supervisor lets go of it.
  const execute = (run: Run, signal?: AbortSignal) => supervisor.execute(runs.job(run, signal));
  const events = (run: Run) =>
    runs.eventsOf(run.id).map(({ type, agent_name, data }) => ({ type, agent_name, data }));
  return {
    runs,
    echo,
    send,
    model,
    models,
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
  runs: FakeRuns,
  events: EventInput[],
  checkpoint: RunCheckpoint = checkpointOf(frame()),
): Run {
  return runs.addRun(runOf({ status: 'running' }), events, checkpoint);
}

const RESTARTED = { reason: 'the run was picked up again', partial: 'kept' };

describe('SupervisorAgent', () => {
  afterEach(() => jest.restoreAllMocks());

  describe('start', () => {
    it('starts a queued run with agent_started, then answers from the thread history', async () => {
      const { runs, execute, events, model, models } = setup([[text('It is 4.')]]);
      const claim = jest.spyOn(runs, 'claim');
      runs.history.push(
        { role: 'user', content: 'earlier' },
        { role: 'assistant', content: 'reply' },
      );
      const run = runs.addRun(runOf({ status: 'queued', model: 'm-1', query: 'And 2+2?' }));

      await execute(run);

      expect(models.get).toHaveBeenCalledWith('m-1');
      // The newest 50 messages of the thread, read by the claim.
      expect(claim).toHaveBeenCalledWith(expect.anything(), expect.any(Function), 50);
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
      expect(runs.row(run.id)).toEqual(
        expect.objectContaining({ status: 'complete', result: 'It is 4.' }),
      );
    });

    it('asks for the default model when the run names none', async () => {
      const { runs, execute, models } = setup([[text('ok')]]);
      const run = runs.addRun(runOf({ status: 'queued', model: null }));

      await execute(run);

      expect(models.get).toHaveBeenCalledWith(undefined);
    });

    it('runs the agent the run names', async () => {
      const { runs, execute, model, events } = setup([[text('found')]]);
      const run = runs.addRun(runOf({ status: 'queued', agent: 'researcher' }));

      await execute(run);

      expect(model.requests[0].system).toBe('You research.');
      expect(events(run).at(-1)).toEqual({
        type: 'agent_completed',
        agent_name: 'researcher',
        data: { answer: 'found' },
      });
    });

    it('fences out an earlier execution once another claims the run', async () => {
      const started = deferred();
      const { runs, execute, model, events, logError } = setup([
        hangingTurn(started),
        [text('once')],
      ]);
      const run = runs.addRun(runOf({ status: 'queued' }));

      // The first execution hangs in the model (a long GC pause, a partition); the queue presumes
      // its worker dead and another execution claims the run and completes it. The first hears of
      // the newer claim and lets go, writing nothing.
      const first = execute(run);
      await started.promise;
      await execute(run);
      await first;

      expect(model.requests).toHaveLength(2);
      expect(model.requests[0].signal.reason).toBe('ended');
      expect(runs.row(run.id)).toEqual(expect.objectContaining({ status: 'complete', attempt: 2 }));
      expect(events(run).map((e) => e.type)).toEqual([
        'agent_started',
        'agent_resumed',
        'agent_response_chunk',
        'agent_completed',
      ]);
      expect(runs.watching(run.id)).toBe(0);
      expect(logError).not.toHaveBeenCalled();
    });

    it('does nothing more for a run cancelled before it started', async () => {
      const { runs, execute, model, events, logError } = setup([[text('never')]]);
      const run = runs.addRun(runOf({ status: 'queued' }));
      runs.cancel(run.id);

      await execute(run); // its job was sent while it was queued

      expect(model.requests).toHaveLength(0);
      expect(events(run).map((e) => e.type)).toEqual(['agent_cancelled']);
      expect(runs.row(run.id).status).toBe('cancelled');
      expect(logError).not.toHaveBeenCalled();
    });

    it('does not execute a run that waits for approval', async () => {
      const { runs, execute, model, models, events } = setup([[text('never')]]);
      const run = runs.addRun(runOf({ status: 'requires_action' }));

      await execute(run);

      expect(models.get).not.toHaveBeenCalled();
      expect(model.requests).toHaveLength(0);
      expect(events(run)).toEqual([]);
    });

    it('leaves a run that pauses for approval waiting, without failing it', async () => {
      const { runs, execute, events, send, logError } = setup([
        [toolCall('s', 'send', { to: 'bob' })],
      ]);
      const run = runs.addRun(runOf({ status: 'queued' }));

      await execute(run);

      expect(send).not.toHaveBeenCalled();
      expect(runs.interrupts).toHaveLength(1);
      expect(runs.row(run.id).status).toBe('requires_action');
      expect(events(run).map((e) => e.type)).toEqual(['agent_started', 'approval_required']);
      expect(logError).not.toHaveBeenCalled();
    });

    it('resumes a run after its approval without an agent_resumed, running the approved call', async () => {
      const { runs, execute, events, send, model } = setup([
        [toolCall('s', 'send', { to: 'bob' })],
      ]);
      const run = runs.addRun(runOf({ status: 'queued' }));
      await execute(run);
      runs.answer(run.id, runs.interrupts[0].callId, 'approved');
      model.script([text('Sent.')]);

      await execute(runs.row(run.id));

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
      expect(runs.row(run.id).result).toBe('Sent.');
    });
  });

  describe('resuming a running run', () => {
    it('tells clients it resumed, as the agent of the last event, then continues from the checkpoint', async () => {
      const { runs, execute, events, model } = setup([[text('found')], [text('final')]]);
      const run = leftBehind(
        runs,
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

      expect(events(run).slice(3, 6)).toEqual([
        {
          type: 'agent_resumed',
          agent_name: 'researcher',
          data: { ...RESTARTED, after_seq: 3 },
        },
        // The new attempt answers differently: the half answer is dropped.
        {
          type: 'agent_resumed',
          agent_name: 'researcher',
          data: {
            reason: 'the new attempt answered differently',
            after_seq: 2,
            partial: 'dropped',
          },
        },
        {
          type: 'agent_response_chunk',
          agent_name: 'researcher',
          data: { text: 'found', step: 1 },
        },
      ]);
      expect(model.requests[0].system).toBe('You research.');
      expect(runs.row(run.id).result).toBe('final');
    });

    it('continues a half-streamed answer where it stopped when the new attempt repeats it', async () => {
      const { runs, execute, events } = setup([
        [reasoning('Let me see.'), text('The answer '), text('is 391.')],
      ]);
      const run = leftBehind(runs, [
        { type: 'agent_started', data: {} },
        // The turn after the checkpoint's step 1.
        { type: 'agent_thinking', data: { text: 'Let me see.', step: 2 } },
        { type: 'agent_response_chunk', data: { text: 'The ans', step: 2 } },
      ]);

      await execute(run);

      const streamed = events(run).filter((e) => e.type === 'agent_response_chunk');
      expect(streamed.map((e) => e.data.text).join('')).toBe('The answer is 391.');
      expect(events(run).filter((e) => e.type === 'agent_thinking')).toHaveLength(1);
      expect(events(run).map((e) => e.type)).toEqual([
        'agent_started',
        'agent_thinking',
        'agent_response_chunk',
        'agent_resumed',
        'agent_response_chunk',
        'agent_response_chunk',
        'agent_completed',
      ]);
      expect(runs.row(run.id).result).toBe('The answer is 391.');
    });

    it('keeps what an earlier resume continued, across a second interruption', async () => {
      const { runs, execute, events } = setup([[text('One two three four.')]]);
      const run = leftBehind(runs, [
        { type: 'agent_started', data: {} },
        { type: 'agent_response_chunk', data: { text: 'One ', step: 2 } },
        { type: 'agent_resumed', data: { ...RESTARTED, after_seq: 2 } },
        { type: 'agent_response_chunk', data: { text: 'two ', step: 2 } },
      ]);

      await execute(run);

      const streamed = events(run).filter((e) => e.type === 'agent_response_chunk');
      expect(streamed.map((e) => e.data.text).join('')).toBe('One two three four.');
    });

    // A checkpoint whose echo call (key ek) was announced and had not completed.
    const echoInFlight = () =>
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
      );

    it('closes a tool call left executing with an error, then runs it again', async () => {
      const { runs, execute, events, echo } = setup([[text('done')]]);
      const executing = { tool: 'echo', call_id: 'ek', arguments: { text: 'again' } };
      const run = leftBehind(
        runs,
        [
          { type: 'agent_started', data: {} },
          { type: 'tool_executing', data: executing },
        ],
        echoInFlight(),
      );

      await execute(run);

      expect(events(run).slice(2)).toEqual([
        { type: 'agent_resumed', agent_name: 'supervisor', data: { ...RESTARTED, after_seq: 2 } },
        {
          type: 'tool_completed',
          agent_name: 'supervisor',
          data: {
            ...executing,
            result: { error: 'interrupted before it finished; running it again' },
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

    it('closes a tool call interrupted after reporting progress, then runs it again', async () => {
      const { runs, execute, events, echo } = setup([[text('done')]]);
      const executing = { tool: 'echo', call_id: 'ek', arguments: { text: 'again' } };
      const progress = { tool: 'echo', call_id: 'ek', done: 1, total: 2 };
      const run = leftBehind(
        runs,
        [
          { type: 'agent_started', data: {} },
          { type: 'tool_executing', data: executing },
          { type: 'tool_progress', data: progress },
          { type: 'tool_progress', data: { ...progress, done: 2 } },
        ],
        echoInFlight(),
      );

      await execute(run);

      expect(events(run).slice(4, 7)).toEqual([
        { type: 'agent_resumed', agent_name: 'supervisor', data: { ...RESTARTED, after_seq: 4 } },
        {
          type: 'tool_completed',
          agent_name: 'supervisor',
          data: {
            ...executing,
            result: { error: 'interrupted before it finished; running it again' },
            is_error: true,
          },
        },
        { type: 'tool_executing', agent_name: 'supervisor', data: executing },
      ]);
      expect(echo).toHaveBeenCalledTimes(1);
    });

    it('closes a sub-agent tool call left executing as that sub-agent', async () => {
      const { runs, execute, events } = setup([[text('found')], [text('final')]]);
      const executing = { tool: 'echo', call_id: 'ek', arguments: { text: 'x' } };
      const checkpoint = delegating();
      checkpoint.frames[1].queue = [{ key: 'ek', id: 'e', name: 'echo', arguments: { text: 'x' } }];
      const run = leftBehind(
        runs,
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
            result: { error: 'interrupted before it finished; running it again' },
            is_error: true,
          },
        },
      ]);
    });

    it('does not close a delegate call left executing: its sub-agent carries on', async () => {
      const { runs, execute, events, model } = setup([[text('found')], [text('final')]]);
      const announced = {
        tool: 'delegate',
        call_id: 'dk',
        arguments: { agent: 'researcher', task: 't' },
      };
      const run = leftBehind(
        runs,
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
      const { runs, execute, events } = setup([[text('done')]]);
      const run = leftBehind(runs, [
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
      const { runs, execute, events } = setup([[text('done')]]);
      const run = leftBehind(runs, []);

      await execute(run);

      expect(events(run).map((e) => e.type)).toEqual(['agent_response_chunk', 'agent_completed']);
    });
  });

  describe('failures', () => {
    it('ends the run failed with the code and message of a model error', async () => {
      const { runs, execute, events, logWarn, logError } = setup([
        failingTurn(new ModelError('The model provider refused the API key.', 'auth'), [
          text('partial'),
        ]),
      ]);
      const run = runs.addRun(runOf({ status: 'queued' }));

      await execute(run);

      expect(runs.row(run.id)).toEqual(
        expect.objectContaining({
          status: 'failed',
          error: 'The model provider refused the API key.',
        }),
      );
      expect(events(run)).toEqual([
        expect.objectContaining({ type: 'agent_started' }),
        // The first delta is written at once (time to first token), before the model failed.
        expect.objectContaining({
          type: 'agent_response_chunk',
          data: { text: 'partial', step: 1 },
        }),
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
      const { runs, execute, events, logError } = setup([failingTurn(new Error(internal))]);
      const run = runs.addRun(runOf({ status: 'queued' }));

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
      expect(runs.row(run.id)).toEqual(
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
      const { runs, execute, events } = setup(turns);
      const run = runs.addRun(runOf({ status: 'queued' }));

      await execute(run);

      expect(runs.row(run.id).status).toBe('failed');
      expect(events(run).at(-1)?.data).toEqual({
        code: 'step_limit',
        message: 'supervisor did not reach an answer within 8 steps',
      });
    });

    it('leaves the run to the queue when its failure cannot be recorded (the database is away)', async () => {
      const { runs, execute, logError } = setup([failingTurn(new Error('boom'))]);
      const run = runs.addRun(runOf({ status: 'queued' }));
      const outage = new Error('Connection terminated unexpectedly');
      runs.failing = { when: (what) => what === 'fail', error: outage };

      await expect(execute(run)).rejects.toBe(outage);

      expect(logError).toHaveBeenCalledWith(
        `Could not record failure of run ${run.id}: Error: Connection terminated unexpectedly`,
      );
      expect(runs.row(run.id).status).toBe('running');
    });

    it('does not fail a run when the database goes away under it: the queue tries it again', async () => {
      const { runs, execute, events, logError } = setup([[text('half'), text(' an answer')]]);
      const run = runs.addRun(runOf({ status: 'queued' }));
      const outage = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
        code: 'ECONNREFUSED',
      });
      runs.failing = { when: (what) => what === 'append', error: outage };

      await expect(execute(run)).rejects.toBe(outage);

      expect(runs.row(run.id).status).toBe('running');
      expect(events(run).map((e) => e.type)).toEqual(['agent_started']);
      expect(logError).not.toHaveBeenCalled();
    });

    it('stops, without failing the run, when someone else ends it', async () => {
      const started = deferred();
      const { runs, execute, model, events, logError } = setup([hangingTurn(started)]);
      const run = runs.addRun(runOf({ status: 'queued' }));

      const execution = execute(run);
      await started.promise;
      runs.cancel(run.id); // from another instance
      await execution;

      expect(model.requests[0].signal.reason).toBe('ended');
      expect(runs.row(run.id).status).toBe('cancelled');
      expect(events(run).map((e) => e.type)).toEqual(['agent_started', 'agent_cancelled']);
      expect(logError).not.toHaveBeenCalled();
    });
  });

  describe('the job taken back', () => {
    it('stops without failing the run when the queue aborts the job (a shutdown hands it back)', async () => {
      const started = deferred();
      const { runs, execute, model, events, logError } = setup([hangingTurn(started)]);
      const run = runs.addRun(runOf({ status: 'queued' }));
      const job = new AbortController();

      const execution = execute(run, job.signal);
      await started.promise;
      job.abort('pg-boss shut down while active');

      await expect(execution).rejects.toThrow('pg-boss shut down while active');
      expect(model.requests[0].signal.aborted).toBe(true);
      expect(runs.row(run.id).status).toBe('running');
      expect(events(run).map((e) => e.type)).toEqual(['agent_started']);
      expect(runs.watching(run.id)).toBe(0);
      expect(logError).not.toHaveBeenCalled();
    });

    it('completes the job in the commit that ends the run', async () => {
      const { runs, supervisor } = setup([[text('done')]]);
      const run = runs.addRun(runOf({ status: 'queued' }));
      const job = runs.job(run);

      await supervisor.execute(job);

      expect(runs.completedJobs).toEqual([job.id]);
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
