import { RunEvent } from '../src/runs/run-event';
import { Channel, openChannel } from './support/channels';
import { ExtensionsModule, Outbox } from './support/extensions.module';
import { RestClient } from './support/rest-client';
import { readSse } from './support/sse-client';
import { createDatabase, dropDatabase, startTestApp, TestApp } from './support/test-app';
import { types } from './support/event-types';

const last = (events: RunEvent[]) => events[events.length - 1];
const EMAIL = 'use send_email {"to": "ops@example.com", "subject": "deploy done"}';

// Tools and agents from a module the core does not know (test/support/extensions.module.ts),
// found by their decorators, over both channels.
describe('agents, tools and approvals', () => {
  let app: TestApp;
  let outbox: Outbox;

  beforeAll(async () => {
    app = await startTestApp({ imports: [ExtensionsModule] });
    outbox = app.app.get(Outbox);
  });
  afterAll(async () => {
    await app.close();
  });

  describe('a module adds tools and agents without touching the core', () => {
    let api: RestClient;
    beforeAll(async () => {
      api = new RestClient(app.http, await app.token('tess'));
    });
    const run = async (body: Record<string, unknown>) => {
      const started = await api.post('/api/agent/run_agent', body);
      expect(started.status).toBe(202);
      const { events } = await readSse(`${app.http}/api/agent/${started.body.run_id}/stream`, {
        token: api.token!,
      });
      return { runId: started.body.run_id as string, events };
    };

    it("calls a discovered tool with validated input and the run's user", async () => {
      const { events } = await run({ query: 'use slow_echo {"text": "hello"}' });
      const done = events.find((e) => e.type === 'tool_completed')!;
      expect(done.data).toMatchObject({
        tool: 'slow_echo',
        is_error: false,
        result: { echo: 'hello', user: 'tess' },
      });
      expect(last(events).data.answer).toContain('hello');
    });

    it('gives the model an error result for invalid input, and the run goes on', async () => {
      const { events } = await run({ query: 'use slow_echo {"text": 5}' });
      const done = events.find((e) => e.type === 'tool_completed')!;
      expect(done.data).toMatchObject({
        is_error: true,
        result: { error: expect.stringContaining('invalid arguments') },
      });
      expect(last(events).type).toBe('agent_completed');
    });

    it('times out a tool that never answers, and the run goes on', async () => {
      const { events } = await run({ query: 'use stuck {}' });
      const done = events.find((e) => e.type === 'tool_completed')!;
      expect(done.data).toMatchObject({
        is_error: true,
        result: { error: 'the tool did not finish within 50 ms' },
      });
      expect(last(events).type).toBe('agent_completed');
    });

    it('runs a registered agent picked by the request, with its own tools only', async () => {
      const { events } = await run({ query: 'use slow_echo {"text": "x"}', agent: 'mailer' });
      expect(events.every((e) => e.agent_name === 'mailer')).toBe(true);
      // slow_echo is not one of the mailer's tools: the model is not offered it.
      expect(types(events)).not.toContain('tool_executing');
    });

    it('refuses an unknown agent or model naming the field', async () => {
      const agent = await api.post('/api/agent/run_agent', { query: 'hi', agent: 'nobody' });
      expect(agent.status).toBe(400);
      expect(agent.body.errors).toEqual([expect.objectContaining({ field: 'agent' })]);
      const model = await api.post('/api/agent/run_agent', { query: 'hi', model: 'gpt-99' });
      expect(model.status).toBe(400);
      expect(model.body.errors).toEqual([expect.objectContaining({ field: 'model' })]);
    });

    it('delegates to a sub-agent, whose events carry its name, over the thread search example', async () => {
      const other = new RestClient(app.http, await app.token('someone-else'));
      await other.post('/api/agent/run_agent', { query: 'my apollo launch codes are 1234' });
      const earlier = await run({ query: 'Remember: project apollo ships on Friday' });
      expect(last(earlier.events).type).toBe('agent_completed');

      const { events } = await run({
        query: 'ask the researcher to use thread_search {"text": "apollo"}',
      });
      const byAgent = events.map((e) => [e.agent_name, e.type]);
      expect(byAgent).toContainEqual(['supervisor', 'tool_executing']);
      expect(byAgent).toContainEqual(['researcher', 'tool_executing']);
      const search = events.find(
        (e) => e.agent_name === 'researcher' && e.type === 'tool_completed',
      )!;
      const matches = (search.data.result as { matches: { content: string }[] }).matches;
      expect(matches.map((m) => m.content)).toContain('Remember: project apollo ships on Friday');
      expect(matches.map((m) => m.content).join()).not.toContain('launch codes'); // not tess's
      expect(last(events).agent_name).toBe('supervisor');
      expect(last(events).data.answer).toContain('researcher says:');
    });

    it('streams the answer as chunks and records token usage per model', async () => {
      const { runId, events } = await run({ query: 'Tell me something' });
      const chunks = events.filter((e) => e.type === 'agent_response_chunk');
      expect(chunks.length).toBeGreaterThan(0);
      expect(
        chunks
          .map((c) => c.data.text)
          .join('')
          .trim(),
      ).toBe(last(events).data.answer);
      const status = (await api.get(`/api/agent/${runId}/status`)).body;
      expect(status.usage.input_tokens).toBeGreaterThan(0);
      expect(status.usage.output_tokens).toBeGreaterThan(0);
      expect(status.usage.models.offline).toEqual({
        input_tokens: status.usage.input_tokens,
        output_tokens: status.usage.output_tokens,
      });
      const runs = (await api.get(`/api/threads/${status.thread_id}/runs`)).body.items;
      expect(runs[0].usage).toEqual(status.usage);
    });
  });

  describe.each(['rest', 'ws'] as const)('approval over %s', (name) => {
    let owner: Channel;
    let stranger: Channel;
    beforeAll(async () => {
      owner = await openChannel(name, app, `approver-${name}`);
      stranger = await openChannel(name, app, `stranger-${name}`);
    });
    afterAll(async () => {
      await owner.close();
      await stranger.close();
    });

    // Starts the email run and follows it up to approval_required.
    const untilApproval = async () => {
      let interruptId = '';
      const { started, events } = await owner.startAndFollow({ query: EMAIL }, (e) => {
        if (e.type !== 'approval_required') return false;
        interruptId = String(e.data.interrupt_id);
        return true;
      });
      return { runId: started.run_id, interruptId, events };
    };

    it('pauses for approval, and an approval runs the tool and finishes the run', async () => {
      const sentBefore = outbox.sent.length;
      const { runId, interruptId, events } = await untilApproval();
      expect(types(events)).toEqual(['agent_started', 'agent_thinking', 'approval_required']);
      expect(last(events).data).toMatchObject({
        tool: 'send_email',
        arguments: { to: 'ops@example.com' },
      });
      expect(await owner.status(runId)).toMatchObject({ status: 'requires_action' });
      expect(outbox.sent).toHaveLength(sentBefore); // nothing sent yet

      const answer = await owner.approve(runId, interruptId, 'approve', 'ship it');
      expect(answer).toMatchObject({
        status: 'approved',
        replayed: false,
        message: 'ship it',
        decided_by: `approver-${name}`,
      });
      const rest = await owner.follow(runId, events.length);
      expect(types(rest)).toEqual([
        'approval_resolved',
        'tool_executing',
        'tool_completed',
        'agent_thinking',
        'agent_response_chunk',
        'agent_completed',
      ]);
      expect(outbox.sent.slice(sentBefore)).toEqual([
        {
          to: 'ops@example.com',
          subject: 'deploy done',
          userId: `approver-${name}`,
          agentName: 'supervisor',
        },
      ]);
      // Answering again, even the other way, returns the first decision and changes nothing.
      const again = await owner.approve(runId, interruptId, 'reject');
      expect(again).toMatchObject({ status: 'approved', replayed: true, message: 'ship it' });
      expect(await owner.status(runId)).toMatchObject({ status: 'complete' });
    });

    it('a rejection tells the model, which answers without running the tool', async () => {
      const sentBefore = outbox.sent.length;
      const { runId, interruptId, events } = await untilApproval();
      expect(await owner.approve(runId, interruptId, 'reject', 'not on a Friday')).toMatchObject({
        status: 'rejected',
        replayed: false,
      });
      const rest = await owner.follow(runId, events.length);
      expect(types(rest)).not.toContain('tool_executing');
      expect(last(rest).data.answer).toBe('The send_email call was rejected: not on a Friday.');
      expect(outbox.sent).toHaveLength(sentBefore);
    });

    it('an answer after a cancel is refused and records nothing', async () => {
      const { runId, interruptId } = await untilApproval();
      expect(await owner.cancel(runId)).toMatchObject({ cancelled: true });
      await expect(owner.approve(runId, interruptId, 'approve')).rejects.toMatchObject({
        code: 'run_not_waiting',
      });
      expect(await owner.status(runId)).toMatchObject({ status: 'cancelled' });
    });

    it("another user's answer is not found, and changes nothing", async () => {
      const { runId, interruptId } = await untilApproval();
      await expect(stranger.approve(runId, interruptId, 'approve')).rejects.toMatchObject({
        code: 'not_found',
      });
      await expect(
        owner.approve(runId, '00000000-0000-4000-8000-000000000000', 'approve'),
      ).rejects.toMatchObject({
        code: 'not_found',
      });
      expect(await owner.status(runId)).toMatchObject({ status: 'requires_action' });
      expect(await owner.cancel(runId)).toMatchObject({ cancelled: true });
    });
  });

  it('an approval given after a restart resumes the run from its stored state', async () => {
    const databaseUrl = await createDatabase();
    const first = await startTestApp({ databaseUrl, imports: [ExtensionsModule] });
    const token = await first.token('patient');
    const started = await new RestClient(first.http, token).post('/api/agent/run_agent', {
      query: EMAIL,
    });
    const runId = started.body.run_id;
    const before = await readSse(`${first.http}/api/agent/${runId}/stream`, {
      token,
      onEvent: (e) => e.type === 'approval_required',
    });
    await first.stop();

    const second = await startTestApp({ databaseUrl, imports: [ExtensionsModule] });
    try {
      const api = new RestClient(second.http, token);
      const interruptId = String(before.events[before.events.length - 1].data.interrupt_id);
      const answer = await api.post(`/api/agent/${runId}/approvals/${interruptId}`, {
        decision: 'approve',
      });
      expect(answer.body).toMatchObject({ status: 'approved', replayed: false });
      const after = await readSse(`${second.http}/api/agent/${runId}/stream`, {
        token,
        lastEventId: String(before.events.length),
      });
      expect(last(after.events).type).toBe('agent_completed');
      expect(second.app.get(Outbox).sent).toEqual([
        expect.objectContaining({ to: 'ops@example.com', userId: 'patient' }),
      ]);
      const approvals = await api.get(`/api/agent/${runId}/approvals`);
      expect(approvals.body).toEqual([
        expect.objectContaining({
          interrupt_id: interruptId,
          status: 'approved',
          decided_by: 'patient',
        }),
      ]);
    } finally {
      await second.stop();
      await dropDatabase(databaseUrl);
    }
  });
});
