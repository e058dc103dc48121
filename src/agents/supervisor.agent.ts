import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { ApprovalStore } from '../approvals/approval.store';
import { isTerminalEvent } from '../runs/run-event';
import { RunEventBus } from '../runs/run-event.bus';
import { ACTIVE_STATUSES, RUNNABLE_STATUSES } from '../runs/run-status';
import { Run } from '../runs/run.entity';
import { RunFinishedError, StatePersistenceService } from '../runs/state-persistence.service';
import { ThreadStore } from '../threads/thread.store';
import { randomUUID } from 'node:crypto';
import { DELEGATE_TOOL } from './agent-definition';
import { AgentLoop, RunCheckpoint, RunLimitError, RunPaused } from './agent-loop';
import { AgentRegistry } from './agent.registry';
import { ModelError } from './llm/chat-model.port';
import { ModelProvider } from './llm/model.provider';
import { ToolRegistry } from './tools/tool.registry';

const HISTORY_MESSAGES = 50;
const SHUTDOWN = 'shutdown';
const ENDED = 'ended';

// Executes runs in the background of this process, from their checkpoint: a new run, one resumed
// after an approval, or one a stopped process left behind. Singleton: a run outlives the request
// that started it, so the owner comes from the run row.
@Injectable()
export class SupervisorAgent implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(SupervisorAgent.name);
  private readonly active = new Map<string, { controller: AbortController; done: Promise<void> }>();

  constructor(
    private readonly models: ModelProvider,
    private readonly tools: ToolRegistry,
    private readonly agents: AgentRegistry,
    private readonly approvals: ApprovalStore,
    private readonly persistence: StatePersistenceService,
    private readonly threads: ThreadStore,
    private readonly bus: RunEventBus,
  ) {}

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
      .findRunnableRuns()
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
    if (!RUNNABLE_STATUSES.includes(run.status)) return;
    const model = this.models.get(run.model ?? undefined);
    if (run.status === 'queued') {
      const started = await this.persistence.transition(
        userId,
        run.id,
        { from: ['queued'], to: 'running' },
        { type: 'agent_started', data: { agent: run.agent, model: model.id, query: run.query } },
      );
      if (!started) return; // cancelled before it started
    } else {
      await this.resumed(run);
    }
    const checkpoint =
      (await this.persistence.loadCheckpoint<RunCheckpoint>(userId, run.id)) ??
      (await this.firstCheckpoint(run));
    const loop = new AgentLoop(
      run,
      model,
      {
        persistence: this.persistence,
        tools: this.tools,
        agents: this.agents,
        approvals: this.approvals,
      },
      signal,
      checkpoint,
    );
    try {
      const answer = await loop.answer();
      await this.persistence.complete(userId, run, answer);
    } catch (err) {
      if (err instanceof RunPaused) return; // waits for a person; the answer resumes it
      throw err;
    }
  }

  // Picking up a running run: after an approval, or after a process stopped in the middle of it.
  // In the second case clients are told (`agent_resumed`: drop the partial text of that step), and
  // a tool call left without its tool_completed is closed, then runs again. A delegate call is not
  // closed: its sub-agent carries on from its own checkpoint.
  private async resumed(run: Run): Promise<void> {
    const [last] = await this.persistence.listEvents(
      run.userId,
      run.id,
      Math.max(0, run.lastSeq - 1),
      1,
    );
    if (!last || last.type === 'approval_resolved') return;
    await this.persistence.append(run.userId, run.id, {
      type: 'agent_resumed',
      agentName: last.agent_name,
      data: { reason: 'the server restarted', after_seq: last.seq },
    });
    if (last.type !== 'tool_executing' || last.data.tool === DELEGATE_TOOL) return;
    await this.persistence.append(run.userId, run.id, {
      type: 'tool_completed',
      agentName: last.agent_name,
      data: {
        ...last.data,
        result: { error: 'interrupted by a restart; running it again' },
        is_error: true,
      },
    });
  }

  private async firstCheckpoint(run: Run): Promise<RunCheckpoint> {
    const history = await this.threads.recentMessages(run.userId, run.threadId, HISTORY_MESSAGES);
    return {
      version: 2,
      frames: [
        {
          agent: run.agent,
          step: 0,
          messages: history.map((m) => ({ role: m.role, content: m.content })),
          queue: [],
        },
      ],
    };
  }

  private async fail(run: Run, err: unknown, signal: AbortSignal): Promise<void> {
    // Cancelled (the terminal event is already written) or shutting down (resumed on next start).
    if (err instanceof RunFinishedError || signal.aborted) return;
    const known = err instanceof ModelError || err instanceof RunLimitError;
    // Only a model error's text is meant for users; anything else may hold internals (SQL, paths),
    // so the client gets a reference to the log line instead.
    const reference = randomUUID();
    const message = known
      ? err.message
      : `The agent failed unexpectedly (reference ${reference}); the server log has the details.`;
    if (known) this.logger.warn(`Run ${run.id} failed: ${message}`);
    else
      this.logger.error(
        `Run ${run.id} failed (reference ${reference}): ${err instanceof Error ? err.stack : String(err)}`,
      );
    await this.persistence
      .transition(
        run.userId,
        run.id,
        { from: ACTIVE_STATUSES, to: 'failed', error: message },
        {
          type: 'agent_error',
          data: {
            message,
            code: err instanceof ModelError ? err.code : known ? 'step_limit' : 'agent_failed',
          },
        },
      )
      .catch((writeErr: unknown) =>
        this.logger.error(`Could not record failure of run ${run.id}: ${String(writeErr)}`),
      );
  }
}
