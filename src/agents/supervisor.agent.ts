import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { isDatabaseUnavailable } from '../database/db-errors';
import { Run } from '../runs/run.entity';
import { RunJob } from '../runs/run.queue';
import { RunFencedError } from '../runs/state-persistence.service';
import { DELEGATE_TOOL } from './agent-definition';
import { AgentLoop, RunCheckpoint, RunLimitError, RunPaused } from './agent-loop';
import { AgentRegistry } from './agent.registry';
import { ClaimedRun, RunJournals } from './fenced-run.journal';
import { ModelError } from './llm/chat-model.port';
import { ModelProvider } from './llm/model.provider';
import { RunJournal } from './run-journal';
import { PartialTurn } from './repeat-filter';
import { RunEvent } from '../runs/run-event';
import { EventInput } from '../runs/run-event.log';
import { ToolRegistry } from './tools/tool.registry';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { queueWait } from '../metrics/metrics';
import { inSpan, RUN_ID, USER_ID } from '../tracing/tracer';

const HISTORY_MESSAGES = 50;
const STREAMED = ['agent_thinking', 'agent_response_chunk'] as const;

function isStreamed(event: RunEvent): event is RunEvent & { type: (typeof STREAMED)[number] } {
  return (STREAMED as readonly string[]).includes(event.type);
}
// Why an execution was aborted: someone else ended (or took) the run.
const ENDED = 'ended';

// Executes a run for one of its queue jobs, from its checkpoint: a new run, one resumed after an
// approval, or one whose previous executor died or handed it back. Singleton: a run outlives the
// request that started it, so the owner comes from the run row. Any instance may execute any run;
// the claim fences out every earlier executor of the same run.
@Injectable()
export class SupervisorAgent {
  private readonly logger = new Logger(SupervisorAgent.name);

  constructor(
    private readonly models: ModelProvider,
    private readonly tools: ToolRegistry,
    private readonly agents: AgentRegistry,
    private readonly journals: RunJournals,
  ) {}

  // Resolves when this execution let go of the run: it finished, paused for a person, or was ended
  // by someone else. Rejects when the job must be tried again (the database went away, or the
  // queue took the job back: a shutdown's hand-back, a lost heartbeat).
  async execute(job: RunJob): Promise<void> {
    const started = (run: Run): EventInput => ({
      type: 'agent_started',
      data: {
        agent: run.agent,
        model: this.models.get(run.model ?? undefined).id,
        query: run.query,
      },
    });
    const taken = await this.journals.claim(job, started, HISTORY_MESSAGES);
    if (!taken) return; // finished, or waiting for a person: nothing to execute
    const { run, resumed } = taken;
    this.logger.debug(`executing run ${run.id}${resumed ? ' (resumed)' : ''}`);
    if (!resumed) queueWait.observe((Date.now() - run.createdAt.getTime()) / 1000);
    const attributes = { [RUN_ID]: run.id, [USER_ID]: run.userId, 'netra.agent': run.agent };
    return inSpan(`run ${run.agent}`, attributes, () => this.executeTaken(job, taken));
  }

  private async executeTaken(job: RunJob, taken: ClaimedRun): Promise<void> {
    const { run, journal, resumed } = taken;
    const ended = new AbortController();
    const unwatch = journal.watch(() => ended.abort(ENDED));
    const signal = AbortSignal.any([job.signal, ended.signal]);
    try {
      const partial = resumed ? await this.resumed(run, journal) : null;
      const checkpoint =
        (taken.checkpoint as RunCheckpoint | null) ?? firstCheckpoint(run, taken.history);
      const model = this.models.get(run.model ?? undefined);
      const services = { tools: this.tools, agents: this.agents };
      const loop = new AgentLoop(run, model, services, journal, signal, checkpoint, partial);
      await journal.complete(await loop.answer());
      this.logger.debug(`run ${run.id} complete`);
    } catch (err) {
      await this.settle(run, journal, err, job.signal, ended.signal);
    } finally {
      unwatch();
    }
  }

  // Picking up a running run: after an approval, or after its executor stopped in the middle of it.
  // In the second case clients are told (`agent_resumed`, partial "kept": what streamed of the turn
  // in flight stays, and the turn continues it), and a tool call left without its tool_completed is
  // closed, then runs again. A delegate call is not closed: its sub-agent carries on from its own
  // checkpoint. The text the interrupted turn had streamed, for the loop to continue it.
  private async resumed(run: Run, journal: RunJournal): Promise<PartialTurn | null> {
    const last = await journal.lastEvent();
    if (!last || last.type === 'approval_resolved') return null;
    // The call in flight, if any: a tool reporting progress was still running.
    const call = await journal.lastEvent(['tool_progress']);
    const partial = await this.partialTurn(journal);
    await journal.append({
      type: 'agent_resumed',
      agentName: last.agent_name,
      data: { reason: 'the run was picked up again', after_seq: last.seq, partial: 'kept' },
    });
    if (call?.type !== 'tool_executing' || call.data.tool === DELEGATE_TOOL) return partial;
    await journal.append({
      type: 'tool_completed',
      agentName: call.agent_name,
      data: {
        ...call.data,
        result: { error: 'interrupted before it finished; running it again' },
        is_error: true,
      },
    });
    return partial;
  }

  // The text clients have of the model turn in flight: the streamed events after the run's last
  // other event, through earlier resumes that kept it (one that dropped it starts it afresh).
  private async partialTurn(journal: RunJournal): Promise<PartialTurn | null> {
    const before = await journal.lastEvent([...STREAMED, 'agent_resumed']);
    let partial: PartialTurn | null = null;
    for await (const event of eventsAfter(journal, before?.seq ?? 0)) {
      if (event.type === 'agent_resumed' && event.data.partial !== 'kept') partial = null;
      if (!isStreamed(event)) continue;
      partial ??= {
        agent: event.agent_name,
        step: Number(event.data.step),
        afterSeq: event.seq - 1,
        text: { agent_thinking: '', agent_response_chunk: '' },
      };
      const { text } = event.data;
      if (typeof text === 'string') partial.text[event.type] += text;
    }
    return partial;
  }

  // How an execution that did not complete ends. Waiting for a person, ended by someone else:
  // nothing to do. The job taken back, the database away: thrown, so the queue tries again and the
  // next execution continues from the checkpoint. Anything else fails the run.
  private async settle(
    run: Run,
    journal: RunJournal,
    err: unknown,
    jobSignal: AbortSignal,
    ended: AbortSignal,
  ): Promise<void> {
    if (err instanceof RunPaused || err instanceof RunFencedError || ended.aborted) return;
    if (jobSignal.aborted || isDatabaseUnavailable(err)) throw err;
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
    const code = err instanceof ModelError ? err.code : known ? 'step_limit' : 'agent_failed';
    // The run's span says it failed (the error is handled here, so inSpan would not see it).
    trace.getActiveSpan()?.setStatus({ code: SpanStatusCode.ERROR, message: code });
    try {
      await journal.fail(message, code);
    } catch (failErr) {
      if (failErr instanceof RunFencedError) return;
      // Not recorded (the database went away): the queue tries the run again.
      this.logger.error(`Could not record failure of run ${run.id}: ${String(failErr)}`);
      throw failErr;
    }
  }
}

// A new run's checkpoint: its agent at step 0 with the thread's conversation.
function firstCheckpoint(run: Run, history: ClaimedRun['history']): RunCheckpoint {
  const messages = history.map((m) => ({ role: m.role, content: m.content }));
  return { version: 2, frames: [{ agent: run.agent, step: 0, messages, queue: [] }] };
}

// Every event of the run after `seq`, a page at a time (a long answer is many events).
async function* eventsAfter(journal: RunJournal, seq: number): AsyncIterable<RunEvent> {
  for (let after = seq; ;) {
    const page = await journal.eventsAfter(after);
    yield* page;
    if (page.length === 0) return;
    after = page[page.length - 1].seq;
  }
}
