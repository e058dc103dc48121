import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleDestroy,
} from '@nestjs/common';
import { isTerminalEvent } from '../runs/run-event';
import { RunEventBus } from '../runs/run-event.bus';
import { ACTIVE_STATUSES } from '../runs/run-status';
import { Run } from '../runs/run.entity';
import { RunFinishedError, StatePersistenceService } from '../runs/state-persistence.service';
import { ThreadStore } from '../threads/thread.store';
import { CHAT_MODEL, ChatMessage, ChatModel, ModelRequest, ToolCall } from './llm/chat-model.port';
import { ToolRegistry } from './tools/tool.registry';

// The checkpoint stored in run_state after every step: enough to continue after a restart.
interface AgentState {
  step: number;
  messages: ChatMessage[];
}

const MAX_STEPS = 8;
const HISTORY_MESSAGES = 50;
const SHUTDOWN = 'shutdown';
const ENDED = 'ended';

// Executes runs in the background of this process: model turn, tools, events, final answer.
// Singleton: a run outlives the request that started it, so the owner comes from the run row.
@Injectable()
export class SupervisorAgent implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(SupervisorAgent.name);
  private readonly active = new Map<string, { controller: AbortController; done: Promise<void> }>();

  constructor(
    @Inject(CHAT_MODEL) private readonly model: ChatModel,
    private readonly tools: ToolRegistry,
    private readonly persistence: StatePersistenceService,
    private readonly threads: ThreadStore,
    private readonly bus: RunEventBus,
  ) {}

  get modelId(): string {
    return this.model.id;
  }

  start(run: Run): void {
    if (this.active.has(run.id)) return;
    const controller = new AbortController();
    // A terminal event written by anyone else (a cancel, on any instance) stops the work here.
    const unsubscribe = this.bus.subscribe(run.id, (event) => {
      if (isTerminalEvent(event.type)) controller.abort(ENDED);
    });
    const done = this.execute(run, controller.signal)
      .catch((err: unknown) => this.fail(run, err, controller.signal))
      .finally(() => {
        unsubscribe();
        this.active.delete(run.id);
      });
    this.active.set(run.id, { controller, done });
  }

  // Runs that a previous process accepted but did not finish continue from their checkpoint.
  // (With several instances this becomes the durable queue's job.)
  onApplicationBootstrap(): void {
    this.persistence
      .findActiveRuns()
      .then((runs) => runs.forEach((run) => this.start(run)))
      .catch((err: unknown) => this.logger.error(`Could not resume runs: ${String(err)}`));
  }

  // Stop, but do not fail, what is running: the next start resumes it.
  async onModuleDestroy(): Promise<void> {
    const running = [...this.active.values()];
    running.forEach(({ controller }) => controller.abort(SHUTDOWN));
    await Promise.allSettled(running.map(({ done }) => done));
  }

  private async execute(run: Run, signal: AbortSignal): Promise<void> {
    const { userId } = run;
    if (run.status === 'queued') {
      const started = await this.persistence.transition(
        userId,
        run.id,
        { from: ['queued'], to: 'running' },
        {
          type: 'agent_started',
          data: { agent: 'supervisor', model: this.model.id, query: run.query },
        },
      );
      if (!started) return; // cancelled before it started
    }
    let state =
      (await this.persistence.loadCheckpoint<AgentState>(userId, run.id)) ??
      ({ step: 0, messages: await this.conversation(run) } satisfies AgentState);
    const ctx = { userId, runId: run.id, threadId: run.threadId, signal };

    while (state.step < MAX_STEPS) {
      signal.throwIfAborted();
      const turn = await collect(this.model, {
        messages: state.messages,
        tools: this.tools.specs(),
        signal,
      });
      if (turn.reasoning) {
        await this.persistence.append(userId, run.id, 'agent_thinking', {
          text: turn.reasoning,
          step: state.step + 1,
        });
      }
      if (turn.calls.length === 0) {
        await this.persistence.complete(userId, run, turn.text.trim());
        return;
      }
      const messages: ChatMessage[] = [
        ...state.messages,
        { role: 'assistant', content: turn.text, toolCalls: turn.calls },
      ];
      for (const call of turn.calls) {
        const announced = { tool: call.name, call_id: call.id, arguments: call.arguments };
        await this.persistence.append(userId, run.id, 'tool_executing', announced);
        const outcome = await this.tools.execute(call, ctx);
        await this.persistence.append(userId, run.id, 'tool_completed', {
          ...announced,
          result: outcome.result,
          is_error: outcome.isError,
        });
        messages.push({
          role: 'tool',
          toolCallId: call.id,
          toolName: call.name,
          content: JSON.stringify(outcome.result),
          isError: outcome.isError,
        });
      }
      state = { step: state.step + 1, messages };
      await this.persistence.saveCheckpoint(userId, run.id, state, state.step);
    }
    throw new Error(`the agent did not reach an answer within ${MAX_STEPS} steps`);
  }

  private async fail(run: Run, err: unknown, signal: AbortSignal): Promise<void> {
    // Cancelled (the terminal event is already written) or shutting down (resumed on next start).
    if (err instanceof RunFinishedError || signal.aborted) return;
    this.logger.error(`Run ${run.id} failed: ${err instanceof Error ? err.stack : String(err)}`);
    const message = err instanceof Error ? err.message : String(err);
    await this.persistence
      .transition(
        run.userId,
        run.id,
        { from: ACTIVE_STATUSES, to: 'failed', error: message },
        { type: 'agent_error', data: { message: `The agent failed: ${message}` } },
      )
      .catch((writeErr: unknown) =>
        this.logger.error(`Could not record failure of run ${run.id}: ${String(writeErr)}`),
      );
  }

  private async conversation(run: Run): Promise<ChatMessage[]> {
    const messages = await this.threads.recentMessages(run.userId, run.threadId, HISTORY_MESSAGES);
    return messages.map((m) => ({ role: m.role, content: m.content }));
  }
}

async function collect(
  model: ChatModel,
  request: ModelRequest,
): Promise<{ reasoning: string; text: string; calls: ToolCall[] }> {
  let reasoning = '';
  let text = '';
  const calls: ToolCall[] = [];
  for await (const chunk of model.stream(request)) {
    switch (chunk.type) {
      case 'reasoning':
        reasoning += chunk.text;
        break;
      case 'text':
        text += chunk.text;
        break;
      case 'tool_call':
        calls.push(chunk.call);
        break;
    }
  }
  return { reasoning, text, calls };
}
