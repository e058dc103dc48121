import { randomUUID } from 'node:crypto';
import { depthOf, keyCount, MAX_JSON_DEPTH } from '../common/validation';
import { EventInput } from '../runs/run-event.log';
import { Run } from '../runs/run.entity';
import { AgentOptions, DELEGATE_TOOL } from './agent-definition';
import { AgentRegistry } from './agent.registry';
import { EventCoalescer, Streamed, StreamedKind } from './event-coalescer';
import { PartialTurn, RepeatFilter } from './repeat-filter';
import { ChatMessage, ChatModel, ProviderMeta, ToolCall, ToolSpec } from './llm/chat-model.port';
import { ApprovalDecision, RunJournal } from './run-journal';
import { ToolOutcome, ToolRegistry } from './tools/tool.registry';
import { modelCallDuration, modelTokens, since } from '../metrics/metrics';
import { inSpan, RUN_ID } from '../tracing/tracer';

const MAX_STEPS = 8;

// A tool call of the current turn, with a key of our own: unique in the run whatever id the model
// gave it (models reuse ids), so an approval or an idempotency key can never match another call.
export type QueuedCall = ToolCall & { key: string };

// One agent's conversation: its messages, how many model turns it took, and the tool calls of the
// current turn still to run.
export interface Frame {
  agent: string;
  step: number;
  messages: ChatMessage[];
  queue: QueuedCall[];
}

// The checkpoint in run_state, written after every turn and every tool call. frames[0] is the
// run's agent; frames[i + 1] is the sub-agent working on the delegate call at the head of frames[i].
export interface RunCheckpoint {
  version: 2;
  frames: Frame[];
}

interface CallResult {
  outcome: ToolOutcome;
  completed: EventInput | null;
}

function completedEvent(
  agent: AgentOptions,
  announced: { tool: string; call_id: string; arguments: Record<string, unknown> },
  outcome: ToolOutcome,
): EventInput {
  return {
    type: 'tool_completed',
    agentName: agent.name,
    data: { ...announced, result: outcome.result, is_error: outcome.isError },
  };
}

// A model's (or a user's, through the offline model) tool arguments go into events, checkpoints and
// a tool: ones nested deeper or larger than any tool takes are replaced by a note the tool's input
// schema refuses, so the model is told its call was invalid.
const ARGUMENT_LIMITS = { depth: MAX_JSON_DEPTH, keys: 1_000, bytes: 64 * 1024 };

function bounded(call: ToolCall): ToolCall {
  const args = call.arguments;
  const tooBig =
    depthOf(args, ARGUMENT_LIMITS.depth) > ARGUMENT_LIMITS.depth ||
    keyCount(args, ARGUMENT_LIMITS.keys) > ARGUMENT_LIMITS.keys ||
    JSON.stringify(args).length > ARGUMENT_LIMITS.bytes;
  if (!tooBig) return call;
  const note = `arguments nested deeper than ${ARGUMENT_LIMITS.depth} levels, with more than ${ARGUMENT_LIMITS.keys} keys or larger than ${ARGUMENT_LIMITS.bytes} bytes`;
  return { ...call, arguments: { invalid_arguments: note } };
}

// What a tool reports of its progress, as clients get it: finite numbers, a message of bounded
// length (a tool is extension code; the event must still be storable and small).
function progressData(call: QueuedCall, done: number, total?: number, message?: string) {
  const data: Record<string, unknown> = { tool: call.name, call_id: call.key, done: finite(done) };
  if (total !== undefined) data.total = finite(total);
  if (typeof message === 'string') data.message = message.slice(0, 500);
  return data;
}

function finite(value: number): number {
  return Number.isFinite(value) ? value : 0;
}

// The run is waiting for a person; its state is stored and the executor can let go of it.
export class RunPaused extends Error {}

// The agents went round in circles; said to the user as it is.
export class RunLimitError extends Error {}

export interface LoopServices {
  tools: ToolRegistry;
  agents: AgentRegistry;
}

// Runs a run's agents from a checkpoint: model turns streamed as coalesced events, tools (after
// approval when they need it), delegation to sub-agents, checkpoints along the way. Created per
// execution; everything it writes goes through the execution's journal.
export class AgentLoop {
  // The checkpoint has changed since it was last committed (see emit()).
  private unsaved = false;

  constructor(
    private readonly run: Run,
    private readonly model: ChatModel,
    private readonly services: LoopServices,
    private readonly journal: RunJournal,
    private readonly signal: AbortSignal,
    private readonly checkpoint: RunCheckpoint,
    // What the turn in flight had streamed when an earlier execution stopped (see RepeatFilter).
    private partial: PartialTurn | null = null,
  ) {}

  // The run's final answer. Throws RunPaused when a tool call waits for approval.
  answer(): Promise<string> {
    return this.runFrame(0);
  }

  private async runFrame(depth: number): Promise<string> {
    const frame = this.checkpoint.frames[depth];
    const agent = this.agent(frame.agent);
    for (;;) {
      this.signal.throwIfAborted();
      if (frame.queue.length === 0) {
        if (frame.step >= MAX_STEPS) {
          throw new RunLimitError(
            `${agent.name} did not reach an answer within ${MAX_STEPS} steps`,
          );
        }
        const turn = await this.turn(agent, frame);
        frame.step += 1;
        if (turn.calls.length === 0) return turn.text.trim();
        frame.messages.push({
          role: 'assistant',
          content: turn.text,
          toolCalls: turn.calls,
          ...(turn.reasoning ? { reasoning: turn.reasoning } : {}),
        });
        frame.queue = turn.calls.map((call) => ({ ...call, key: randomUUID() }));
        // Committed with the first call's next write (its tool_executing, its pause), not alone.
        this.unsaved = true;
      }
      while (frame.queue.length > 0) {
        const call = frame.queue[0];
        const { outcome, completed } = await this.call(agent, call, depth);
        frame.messages.push({
          role: 'tool',
          toolCallId: call.id, // the model's own id: that is what it matches results by
          toolName: call.name,
          // A tool may resolve undefined; the model is told null, which is valid JSON.
          content: JSON.stringify(outcome.result ?? null),
          isError: outcome.isError,
        });
        frame.queue.shift();
        await this.commit(completed);
      }
    }
  }

  // The call's tool_completed and the checkpoint that no longer holds the call, in one commit.
  private commit(completed: EventInput | null): Promise<void> {
    if (!completed) return this.save();
    this.unsaved = false;
    return this.journal.commitCall(completed, this.checkpoint, this.checkpoint.version);
  }

  // One model turn, streamed: reasoning and text become coalesced events as they arrive.
  private async turn(
    agent: AgentOptions,
    frame: Frame,
  ): Promise<{
    text: string;
    calls: ToolCall[];
    reasoning?: { text: string; meta?: ProviderMeta };
  }> {
    // A checkpoint still unsaved is saved before the turn streams anything.
    if (this.unsaved) await this.save();
    const step = frame.step + 1;
    const repeat = this.repeatFilter(agent.name, step);
    // Saved above, so the streamed text needs no checkpoint with it.
    const asEvents = (events: Streamed[]): EventInput[] =>
      events.map(({ kind, text }) => ({ type: kind, agentName: agent.name, data: { text, step } }));
    const coalescer = new EventCoalescer((events) => this.journal.append(...asEvents(events)));
    let text = '';
    const reasoning: { text: string; meta?: ProviderMeta } = { text: '' };
    const calls: ToolCall[] = [];
    const model = this.model.id;
    const started = performance.now();
    let outcome = 'error';
    try {
      await inSpan(
        `model ${model}`,
        { [RUN_ID]: this.run.id, 'gen_ai.request.model': model },
        async (span) => {
          for await (const chunk of this.model.stream({
            system: agent.instructions,
            messages: frame.messages,
            tools: this.toolSpecs(agent),
            signal: this.signal,
          })) {
            switch (chunk.type) {
              case 'reasoning':
                reasoning.text += chunk.text;
                if (chunk.meta) reasoning.meta = chunk.meta;
                if (!chunk.text) break;
                if (repeat) await this.stream(coalescer, repeat, 'agent_thinking', chunk.text);
                else coalescer.push('agent_thinking', chunk.text);
                break;
              case 'text':
                text += chunk.text;
                if (repeat)
                  await this.stream(coalescer, repeat, 'agent_response_chunk', chunk.text);
                else coalescer.push('agent_response_chunk', chunk.text);
                break;
              case 'tool_call':
                calls.push(bounded(chunk.call));
                break;
              case 'usage':
                modelTokens.inc({ model, direction: 'input' }, chunk.inputTokens);
                modelTokens.inc({ model, direction: 'output' }, chunk.outputTokens);
                span.setAttributes({
                  'gen_ai.usage.input_tokens': chunk.inputTokens,
                  'gen_ai.usage.output_tokens': chunk.outputTokens,
                });
                await this.journal.addUsage(this.model.id, {
                  input: chunk.inputTokens,
                  output: chunk.outputTokens,
                });
                break;
            }
          }
        },
      );
      outcome = 'ok';
      const rest = repeat?.finish();
      if (rest) await this.dropPartial(coalescer, repeat!, rest);
      // The turn's last text goes with the loop's next write, which follows at once.
      this.journal.carry(...asEvents(await coalescer.rest()));
    } finally {
      modelCallDuration.observe({ model, outcome }, since(started));
      coalescer.discard();
    }
    return { text, calls, reasoning: reasoning.text || reasoning.meta ? reasoning : undefined };
  }

  // The filter for the turn an earlier execution left half streamed, if this is that turn.
  private repeatFilter(agent: string, step: number): RepeatFilter | null {
    const partial = this.partial;
    if (!partial || partial.agent !== agent || partial.step !== step) return null;
    this.partial = null;
    return new RepeatFilter(partial);
  }

  // A piece of a resumed turn's text, less what clients already have of it.
  private async stream(
    coalescer: EventCoalescer,
    repeat: RepeatFilter,
    kind: StreamedKind,
    text: string,
  ): Promise<void> {
    const passed = repeat.pass(kind, text);
    if ('dropped' in passed) return this.dropPartial(coalescer, repeat, passed);
    if (passed.text) coalescer.push(kind, passed.text);
  }

  // The new attempt departed from the partial text clients have: they drop it, and get this
  // attempt's text from its start.
  private async dropPartial(
    coalescer: EventCoalescer,
    repeat: RepeatFilter,
    { replay }: { replay: Streamed[] },
  ): Promise<void> {
    await coalescer.drain();
    const { agent, afterSeq } = repeat.partial;
    await this.journal.append({
      type: 'agent_resumed',
      agentName: agent,
      data: {
        reason: 'the new attempt answered differently',
        after_seq: afterSeq,
        partial: 'dropped',
      },
    });
    for (const { kind, text } of replay) coalescer.push(kind, text);
  }

  // Runs one tool call: what the model is told, and the tool_completed event to commit with the
  // next checkpoint (none for a rejected call). Throws RunPaused when the call waits for approval.
  private async call(agent: AgentOptions, call: QueuedCall, depth: number): Promise<CallResult> {
    const announced = { tool: call.name, call_id: call.key, arguments: call.arguments };
    if (call.name === DELEGATE_TOOL && agent.tools.includes(DELEGATE_TOOL)) {
      return this.delegate(agent, call, depth);
    }
    const tool = this.services.tools.get(call.name);
    // Only a call that would run is put to a person, with the arguments it would run with.
    const parsed = tool ? this.services.tools.parse(call) : null;
    if (tool?.requiresApproval && agent.tools.includes(call.name) && parsed?.ok) {
      const decision = await this.approval(agent, { ...call, arguments: parsed.input });
      if (decision.status === 'rejected') {
        return {
          outcome: { result: { rejected: true, message: decision.message }, isError: true },
          completed: null,
        };
      }
    }
    await this.emit({ type: 'tool_executing', agentName: agent.name, data: announced });
    const outcome = agent.tools.includes(call.name)
      ? await this.services.tools.execute(call, {
          userId: this.run.userId,
          runId: this.run.id,
          threadId: this.run.threadId,
          agentName: agent.name,
          callId: call.key,
          signal: this.signal,
          progress: (done, total, message) =>
            this.emit({
              type: 'tool_progress',
              agentName: agent.name,
              data: progressData(call, done, total, message),
            }).catch(() => undefined),
        })
      : { result: { error: `${agent.name} has no tool ${call.name}` }, isError: true };
    return { outcome, completed: completedEvent(agent, announced, outcome) };
  }

  // A decided approval for the call, or a pause: the interrupt is opened and the run moves to
  // requires_action in one commit, with the checkpoint that resumes it.
  private async approval(agent: AgentOptions, call: QueuedCall): Promise<ApprovalDecision> {
    const existing = await this.journal.decision(call.key);
    if (existing) return existing;
    this.unsaved = false; // the pause saves it
    await this.journal.pause(this.checkpoint, this.checkpoint.version, {
      agentName: agent.name,
      tool: call.name,
      callKey: call.key,
      arguments: call.arguments,
    });
    throw new RunPaused();
  }

  // Hands a task to a sub-agent, which works in its own frame, and returns its answer.
  private async delegate(
    agent: AgentOptions,
    call: QueuedCall,
    depth: number,
  ): Promise<CallResult> {
    const { agent: target, task } = call.arguments;
    const sub = this.services.agents.delegates().find((a) => a.name === target);
    const announced = { tool: call.name, call_id: call.key, arguments: call.arguments };
    if (!sub || typeof task !== 'string' || !task) {
      // Shown like any failed call, so clients see every call the model made.
      const error = 'delegate needs an agent of the list and a task';
      await this.emit({ type: 'tool_executing', agentName: agent.name, data: announced });
      const outcome = { result: { error }, isError: true };
      return { outcome, completed: completedEvent(agent, announced, outcome) };
    }
    if (!this.checkpoint.frames[depth + 1]) {
      await this.emit({ type: 'tool_executing', agentName: agent.name, data: announced });
      this.checkpoint.frames[depth + 1] = {
        agent: sub.name,
        step: 0,
        messages: [{ role: 'user', content: task }],
        queue: [],
      };
      await this.save();
    }
    const answer = await this.runFrame(depth + 1);
    this.checkpoint.frames.splice(depth + 1);
    const outcome = { result: { agent: sub.name, answer }, isError: false };
    return { outcome, completed: completedEvent(agent, announced, outcome) };
  }

  private toolSpecs(agent: AgentOptions): ToolSpec[] {
    const specs = this.services.tools.specs(agent.tools);
    if (!agent.tools.includes(DELEGATE_TOOL)) return specs;
    const delegates = this.services.agents.delegates();
    return [
      ...specs,
      {
        name: DELEGATE_TOOL,
        description:
          'Hands a task to another agent and returns its answer. Agents: ' +
          delegates.map((a) => `${a.name} (${a.description})`).join('; '),
        parameters: {
          type: 'object',
          properties: {
            agent: { type: 'string', enum: delegates.map((a) => a.name) },
            task: { type: 'string', description: 'what the agent should do, in full' },
          },
          required: ['agent', 'task'],
          additionalProperties: false,
        },
      },
    ];
  }

  private agent(name: string): AgentOptions {
    const agent = this.services.agents.get(name);
    if (!agent) throw new Error(`agent ${name} is not registered`);
    return agent;
  }

  // An event; with the checkpoint when one waits to be saved (the turn that queued the calls), in
  // the same commit.
  private emit(event: EventInput): Promise<void> {
    if (!this.unsaved) return this.journal.append(event);
    this.unsaved = false;
    return this.journal.commitCall(event, this.checkpoint, this.checkpoint.version);
  }

  private save(): Promise<void> {
    this.unsaved = false;
    return this.journal.save(this.checkpoint, this.checkpoint.version);
  }
}
