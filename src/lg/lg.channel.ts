import { Injectable } from '@nestjs/common';
import { PER_USER } from '../context/per-user';
import { concat, defer, EMPTY, map, mergeMap, Observable, of, takeWhile } from 'rxjs';
import { ApprovalView } from '../approvals/approval.views';
import { ApprovalDecisionDto } from '../approvals/dto/approval-decision.dto';
import { DomainError } from '../common/domain.error';
import { screenLooseJson, validatePayload } from '../common/validation';
import { MessageHandlerService } from '../messaging/message-handler.service';
import { recordPush } from '../metrics/metrics';
import { StartAgentDto } from '../runs/dto/start-agent.dto';
import { MultitaskStrategy } from '../runs/multitask-strategy';
import { RunEvent } from '../runs/run-event';
import { RunStatusView } from '../runs/run.views';
import { CreateThreadDto, UpdateThreadDto } from '../threads/dto/thread-fields.dto';
import { ThreadView } from '../threads/thread.views';
import { LgPart, LgTranslator, STREAM_MODES } from './lg.stream';
import {
  assistantOf,
  LcMessage,
  lgThreadId,
  messagesOf,
  runOf,
  stateOf,
  threadOf,
} from './lg.views';

type Body = Record<string, unknown>;

// What a stream sends: parts with the seq they came from (the SSE id), none on the opening ones.
export interface LgFrame {
  seq?: number;
  parts: LgPart[];
}

export interface LgStream {
  threadId: string;
  runId: string;
  modes: string[];
  frames: Observable<LgFrame>;
}

// The Agent Protocol channel (the subset the LangGraph SDK's Client uses), over the shared
// services: assistants are the registered agents, threads and runs are ours. A thread is named by
// its id or by the client's own id for it (a thread_id the client chose); a run by its id. A tool
// call waiting for approval is an interrupt; a Command resume on the thread answers it, and the
// same run goes on (its run_id stays).
// Per user (PER_USER), as the MessageHandlerService it calls.
@Injectable(PER_USER)
export class LgChannel {
  constructor(private readonly handler: MessageHandlerService) {}

  // --- assistants

  searchAssistants(body: unknown) {
    const input = screened(body);
    const { limit, offset } = window(input);
    const graph = optionalText(input, 'graph_id');
    const name = optionalText(input, 'name');
    return this.handler
      .listAgents()
      .filter(
        (a) =>
          (graph === undefined || a.name === graph) &&
          (name === undefined || a.name.includes(name)),
      )
      .slice(offset, offset + limit)
      .map((a) => assistantOf(a.name, a.description));
  }

  getAssistant(id: string) {
    const agent = this.handler.listAgents().find((a) => a.name === id);
    if (!agent) throw new DomainError('not_found', `assistant ${id} not found`);
    return assistantOf(agent.name, agent.description);
  }

  // --- threads

  async createThread(body: unknown) {
    const input = screened(body);
    const { metadata } = await validatePayload(CreateThreadDto, {
      ...(input.metadata === undefined || input.metadata === null
        ? {}
        : { metadata: input.metadata }),
    });
    const ref = optionalText(input, 'thread_id');
    const ifExists = optionalChoice(input, 'if_exists', ['raise', 'do_nothing']) ?? 'raise';
    if (ref === undefined)
      return this.lgThread(await this.handler.handleCreateThread({ metadata }));
    const { thread, created } = await this.handler.openThread(ref, { metadata });
    if (!created && ifExists === 'raise') {
      throw new DomainError('already_exists', `thread ${ref} already exists`);
    }
    return this.lgThread(thread);
  }

  async getThread(ref: string) {
    return this.lgThread(await this.handler.findThread(ref));
  }

  async searchThreads(body: unknown) {
    const input = screened(body);
    const { limit, offset } = window(input);
    const metadata = optionalObject(input, 'metadata') ?? {};
    const status = optionalText(input, 'status');
    if (input.ids !== undefined && input.ids !== null && !Array.isArray(input.ids)) {
      throw invalid('ids', 'ids must be a list of thread ids');
    }
    const refs = Array.isArray(input.ids) ? input.ids.map(String) : undefined;
    // The status comes from each thread's runs: filtered by it, the search looks at the newest
    // 100 threads that match the rest.
    const found =
      status === undefined
        ? await this.handler.searchThreads({ metadata, refs }, limit, offset)
        : await this.handler.searchThreads({ metadata, refs }, 100, 0);
    const threads = await Promise.all(found.map((t) => this.lgThread(t)));
    if (status === undefined) return threads;
    return threads.filter((t) => t.status === status).slice(offset, offset + limit);
  }

  async updateThread(ref: string, body: unknown) {
    const input = screened(body);
    const thread = await this.handler.findThread(ref);
    // Merged as LangGraph does, then held to the limits every channel's metadata is held to.
    const { metadata } = await validatePayload(UpdateThreadDto, {
      metadata: { ...thread.metadata, ...(optionalObject(input, 'metadata') ?? {}) },
    });
    return this.lgThread(await this.handler.updateThread(thread.id, { metadata }));
  }

  async deleteThread(ref: string): Promise<void> {
    await this.handler.handleDeleteThread((await this.handler.findThread(ref)).id);
  }

  async getState(ref: string) {
    const thread = await this.handler.findThread(ref);
    const { latest, waiting } = await this.latestRun(thread);
    return stateOf(thread, latest, await this.values(thread), waiting);
  }

  async getHistory(ref: string) {
    return [await this.getState(ref)];
  }

  // --- runs

  // A run on the thread `ref` (null: on a new thread), or the resume of the one waiting there;
  // followed from `after`.
  async startRun(ref: string | null, body: unknown, after = 0): Promise<LgStream> {
    const input = screened(body);
    const modes = streamModes(input.stream_mode);
    const command = optionalObject(input, 'command');
    if (command?.resume !== undefined) {
      if (ref === null) throw invalid('command', 'a resume needs the thread it resumes');
      return this.resume(ref, command.resume, modes, after);
    }
    const agent = optionalText(input, 'assistant_id') ?? 'supervisor';
    const create = optionalChoice(input, 'if_not_exists', ['create', 'reject']) === 'create';
    const strategy = strategyOf(
      optionalChoice(input, 'multitask_strategy', ['reject', 'interrupt', 'rollback', 'enqueue']),
    );
    const thread = ref === null || create ? null : await this.handler.findThread(ref);
    const dto = await validatePayload(StartAgentDto, {
      query: queryOf(input),
      agent,
      ...(ref === null ? {} : { thread_id: thread?.id ?? ref }),
      ...(strategy ? { multitask_strategy: strategy } : {}),
      ...(input.webhook === undefined || input.webhook === null ? {} : { webhook: input.webhook }),
    }).catch((err: unknown) => {
      throw renamed(err, { query: 'input', agent: 'assistant_id', thread_id: 'thread_id' });
    });
    const { started, events } = await this.handler.startAndFollow(dto, undefined, after, create);
    const lgThread = thread ?? (await this.handler.getThread(started.thread_id));
    return this.stream(lgThreadId(lgThread), started.run_id, modes, events, after, lgThread);
  }

  async getRun(ref: string, runId: string) {
    const { thread, run } = await this.runOn(ref, runId);
    return runOf(run, lgThreadId(thread));
  }

  async listRuns(ref: string, query: Record<string, unknown>) {
    const thread = await this.handler.findThread(ref);
    const { limit, offset } = window({
      ...(query.limit === undefined ? {} : { limit: Number(query.limit) }),
      ...(query.offset === undefined ? {} : { offset: Number(query.offset) }),
    });
    const page = await this.handler.getThreadRuns(thread.id, { limit, offset });
    return page.items.map((run) => runOf(run, lgThreadId(thread)));
  }

  async cancel(ref: string, runId: string): Promise<void> {
    const { run } = await this.runOn(ref, runId);
    await this.handler.handleStopAgent(run.run_id);
  }

  // A run's stream again, from `after` (Last-Event-ID), in these modes.
  async joinStream(ref: string, runId: string, modes: unknown, after: number): Promise<LgStream> {
    const { thread, run } = await this.runOn(ref, runId);
    const { events } = await this.handler.followRun(run.run_id, after);
    return this.stream(lgThreadId(thread), run.run_id, streamModes(modes), events, after, thread);
  }

  // What /wait and /join answer: the thread's values once the run has ended or waits (with the
  // run's error as `__error__`, as LangGraph has it).
  // `closed`: the client went away; the wait stops (the run goes on).
  async finalValues(stream: LgStream, closed?: AbortSignal) {
    let last: Record<string, unknown> = {};
    await new Promise<void>((resolve, reject) => {
      const subscription = stream.frames.subscribe({
        next: (frame) => {
          for (const part of frame.parts) {
            if (part.event === 'values') last = part.data as Record<string, unknown>;
            if (part.event === 'error') last = { ...last, __error__: part.data };
          }
        },
        error: reject,
        complete: resolve,
      });
      closed?.addEventListener('abort', () => {
        subscription.unsubscribe();
        resolve();
      });
    });
    return last;
  }

  async join(ref: string, runId: string, closed?: AbortSignal) {
    return this.finalValues(await this.joinStream(ref, runId, ['values'], 0), closed);
  }

  private async resume(
    ref: string,
    resume: unknown,
    modes: string[],
    after: number,
  ): Promise<LgStream> {
    const thread = await this.handler.findThread(ref);
    const { latest, waiting } = await this.latestRun(thread);
    if (!latest || waiting.length === 0) {
      throw new DomainError('run_not_waiting', `thread ${ref} has no run waiting for a resume`);
    }
    // A map of interrupt id to value answers each; anything else answers the first.
    const keys = isPlainObject(resume) ? Object.keys(resume) : [];
    const byId =
      keys.length > 0 && keys.every((k) => waiting.some((w) => w.interrupt_id === k))
        ? (resume as Record<string, unknown>)
        : { [waiting[0].interrupt_id]: resume };
    const answers = await Promise.all(
      Object.entries(byId).map(async ([id, value]) => [id, await decisionOf(value)] as const),
    );
    for (const [id, answer] of answers.slice(1)) {
      await this.handler.handleApproval(latest.run_id, id, answer);
    }
    const [firstId, firstAnswer] = answers[0];
    const { runId, events } = await this.handler.approveAndFollow(
      firstId,
      firstAnswer,
      undefined,
      after,
    );
    return this.stream(lgThreadId(thread), runId, modes, events, after, thread);
  }

  private stream(
    threadId: string,
    runId: string,
    modes: string[],
    events: Observable<RunEvent> | null,
    after: number,
    thread: ThreadView,
  ): LgStream {
    // Made when the stream is read: a background run (POST /runs) is never read.
    const frames = defer(async () => {
      const run = await this.handler.getRunStatus(runId);
      const history = (await this.values(thread)).messages;
      const answered = await this.handler.getAnsweredApprovals(runId);
      return new LgTranslator(modes, history, answered, run.agent);
    }).pipe(
      mergeMap((translator) =>
        concat(
          of<LgFrame>({
            parts: [
              { event: 'metadata', data: { run_id: runId, attempt: 1 } },
              ...(after === 0 ? translator.opened() : []),
            ],
          }),
          // Nothing after the resume point: the run has ended and the client saw it all.
          (events ?? EMPTY).pipe(
            map((event) => {
              recordPush('lg', event);
              return translator.translate(event);
            }),
            takeWhile((t) => !t.final, true),
          ),
          of<LgFrame>({ parts: [{ event: 'end', data: null }] }),
        ),
      ),
    );
    return { threadId, runId, modes, frames };
  }

  private async runOn(
    ref: string,
    runId: string,
  ): Promise<{ thread: ThreadView; run: RunStatusView }> {
    const thread = await this.handler.findThread(ref);
    const run = await this.handler.getRunStatus(runId);
    if (run.thread_id !== thread.id) throw DomainError.notFound('run', runId);
    return { thread, run };
  }

  private async lgThread(thread: ThreadView) {
    const { latest, waiting } = await this.latestRun(thread);
    return threadOf(thread, latest, await this.values(thread), waiting);
  }

  private async latestRun(
    thread: ThreadView,
  ): Promise<{ latest?: RunStatusView; waiting: ApprovalView[] }> {
    // The run waiting for a person if there is one (runs queued behind it are newer), else the
    // newest.
    const recent = (await this.handler.getThreadRuns(thread.id, { limit: 20, offset: 0 })).items;
    const latest = recent.find((r) => r.status === 'requires_action') ?? recent[0];
    if (latest?.status !== 'requires_action') return { latest, waiting: [] };
    const approvals = await this.handler.getApprovals(latest.run_id);
    return { latest, waiting: approvals.filter((a) => a.status === 'pending') };
  }

  // The thread's `messages` state: its newest 100 messages.
  private async values(thread: ThreadView): Promise<{ messages: LcMessage[] }> {
    const first = await this.handler.getThreadHistory(thread.id, { limit: 100, offset: 0 });
    const page =
      first.total > 100
        ? await this.handler.getThreadHistory(thread.id, { limit: 100, offset: first.total - 100 })
        : first;
    return { messages: messagesOf(page.items) };
  }
}

function screened(body: unknown): Body {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body))
    throw invalid('body', 'the body must be a JSON object');
  const unsafe = screenLooseJson(body);
  if (unsafe.length > 0) throw DomainError.validation(unsafe);
  return body as Body;
}

function invalid(field: string, message: string): DomainError {
  return DomainError.validation([{ field, messages: [message] }]);
}

function optionalText(input: Body, field: string): string | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length > 200)
    throw invalid(field, `${field} must be a string of at most 200 characters`);
  return value;
}

function optionalObject(input: Body, field: string): Record<string, unknown> | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (!isPlainObject(value)) throw invalid(field, `${field} must be an object`);
  return value as Record<string, unknown>;
}

function optionalChoice<T extends string>(
  input: Body,
  field: string,
  choices: readonly T[],
): T | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (!choices.includes(value as T))
    throw invalid(field, `${field} must be one of: ${choices.join(', ')}`);
  return value as T;
}

function window(input: Body): { limit: number; offset: number } {
  const limit = input.limit ?? 10;
  const offset = input.offset ?? 0;
  if (!Number.isInteger(limit) || (limit as number) < 1 || (limit as number) > 100)
    throw invalid('limit', 'limit must be an integer from 1 to 100');
  if (!Number.isInteger(offset) || (offset as number) < 0)
    throw invalid('offset', 'offset must be a non-negative integer');
  return { limit: limit as number, offset: offset as number };
}

function streamModes(value: unknown): string[] {
  const modes =
    value === undefined || value === null ? ['values'] : Array.isArray(value) ? value : [value];
  const unknown = modes.filter((m) => !(STREAM_MODES as readonly unknown[]).includes(m));
  if (unknown.length > 0 || modes.length === 0) {
    throw invalid('stream_mode', `stream_mode must be among: ${STREAM_MODES.join(', ')}`);
  }
  return modes as string[];
}

// LangGraph's strategies as ours: rollback (drop the run in progress) is interrupt here (it is
// cancelled; its events stay in its log).
function strategyOf(value: string | undefined): MultitaskStrategy | undefined {
  if (value === undefined) return undefined;
  return value === 'rollback' ? 'interrupt' : (value as MultitaskStrategy);
}

// The run's query: the newest human message of input.messages (a LangChain message dict, or
// {role: 'user', content}).
function queryOf(input: Body): string {
  const messages = optionalObject(input, 'input')?.messages;
  if (Array.isArray(messages)) {
    for (let i = messages.length - 1; i >= 0; i--) {
      const m = messages[i] as Record<string, unknown>;
      if (m && (m.type === 'human' || m.role === 'user' || m.role === 'human'))
        return textOf(m.content);
    }
  }
  throw invalid('input', 'input.messages must hold a human message (or send command.resume)');
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part) =>
        isPlainObject(part) && (part as Body).type === 'text'
          ? typeof (part as Body).text === 'string'
            ? ((part as Body).text as string)
            : ''
          : '',
      )
      .join('');
  }
  throw invalid('input', 'a message content must be text or a list of text parts');
}

// A resume value for an approval: {decision, message?}, 'approve' / 'reject', or true / false.
async function decisionOf(value: unknown): Promise<ApprovalDecisionDto> {
  const fields =
    value === true || value === 'approve'
      ? { decision: 'approve' }
      : value === false || value === 'reject'
        ? { decision: 'reject' }
        : value;
  return validatePayload(ApprovalDecisionDto, fields).catch((err: unknown) => {
    throw renamed(err, { decision: 'command.resume.decision', message: 'command.resume.message' });
  });
}

function renamed(err: unknown, names: Record<string, string>): unknown {
  return DomainError.renamingFields(err, (field) => names[field] ?? field);
}

function isPlainObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
