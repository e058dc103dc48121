import { randomUUID } from 'node:crypto';
import { DiscoveryService } from '@nestjs/core';
import { EntityManager } from 'typeorm';
import { ApprovalStore } from '../approvals/approval.store';
import { InterruptStatus, RunInterrupt } from '../approvals/run-interrupt.entity';
import { RunEvent, RunEventType } from '../runs/run-event';
import { InProcessRunEventBus, RunEventListener } from '../runs/run-event.bus';
import { RUNNABLE_STATUSES } from '../runs/run-status';
import { Run } from '../runs/run.entity';
import {
  AtomicWork,
  EventInput,
  RunFinishedError,
  StatePersistenceService,
  Transition,
} from '../runs/state-persistence.service';
import { ChatModel, ModelChunk, ModelRequest, ToolCall } from './llm/chat-model.port';

// Hand-written fakes of what the AgentLoop and the SupervisorAgent use, for their unit tests.

export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve: (value: T) => void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

export function runOf(overrides: Partial<Run> = {}): Run {
  return {
    id: randomUUID(),
    userId: 'user-1',
    threadId: randomUUID(),
    clientRunId: null,
    query: 'What is 2 + 2?',
    agent: 'supervisor',
    model: null,
    usage: {},
    status: 'running',
    result: null,
    error: null,
    lastSeq: 0,
    createdAt: new Date(0),
    updatedAt: new Date(0),
    startedAt: null,
    finishedAt: null,
    ...overrides,
  };
}

// A DiscoveryService that finds no providers: tools and agents are registered directly.
export function noDiscovery(): DiscoveryService {
  return {
    getProviders: () => [],
    getMetadataByDecorator: () => undefined,
  } as unknown as DiscoveryService;
}

export interface SavedCheckpoint {
  runId: string;
  version: number;
  state: unknown;
}

export interface UsageRecord {
  userId: string;
  runId: string;
  model: string;
  tokens: { input: number; output: number };
}

type PersistencePort = Pick<
  StatePersistenceService,
  | 'transition'
  | 'append'
  | 'atomically'
  | 'complete'
  | 'listEvents'
  | 'findRunnableRuns'
  | 'addUsage'
  | 'saveCheckpoint'
  | 'loadCheckpoint'
>;

// StatePersistenceService in memory: runs with their status and event log (seq 1, 2, 3... per run,
// agent_name the writer or the run's agent), checkpoints stored as copies (as jsonb would), and the
// same rules as the real one: a transition only from the given statuses, appends only while the
// run is running, events published on the bus once written.
export class FakePersistence implements PersistencePort {
  readonly events: RunEvent[] = [];
  readonly saves: SavedCheckpoint[] = [];
  readonly usage: UsageRecord[] = [];
  // Order of the writes, e.g. 'save', 'atomically', 'event:approval_required'.
  readonly log: string[] = [];
  // The manager handed to the work of atomically().
  readonly manager = { fake: 'transaction manager' } as unknown as EntityManager;
  private readonly runs = new Map<string, Run>();
  private readonly checkpoints = new Map<string, unknown>();
  private readonly waiters: { runId: string; type: RunEventType; done: Deferred }[] = [];

  constructor(private readonly bus?: InProcessRunEventBus) {}

  // Stores the run and the events it already has; returns a snapshot of the row.
  addRun(run: Run, events: EventInput[] = [], checkpoint?: object): Run {
    this.runs.set(run.id, { ...run, lastSeq: 0 });
    events.forEach((event) => this.insert(this.runs.get(run.id)!, event));
    if (checkpoint) this.checkpoints.set(run.id, structuredClone(checkpoint));
    return this.row(run.id);
  }

  // A copy of the run row as it is now.
  row(runId: string): Run {
    const run = this.runs.get(runId);
    if (!run) throw new Error(`no run ${runId}`);
    return { ...run };
  }

  eventsOf(runId: string): RunEvent[] {
    return this.events.filter((e) => e.run_id === runId);
  }

  // Resolves once an event of this type is written for the run (at once if it already was).
  waitForEvent(runId: string, type: RunEventType): Promise<void> {
    if (this.eventsOf(runId).some((e) => e.type === type)) return Promise.resolve();
    const done = deferred();
    this.waiters.push({ runId, type, done });
    return done.promise;
  }

  transition(
    userId: string,
    runId: string,
    change: Transition,
    event: EventInput,
  ): Promise<RunEvent | null> {
    const written = this.write(userId, runId, change, event);
    if (written) this.bus?.publish(written);
    return Promise.resolve(written);
  }

  async append(userId: string, runId: string, event: EventInput): Promise<RunEvent> {
    const written = await this.transition(userId, runId, { from: ['running'] }, event);
    if (!written) throw new RunFinishedError(runId);
    return written;
  }

  async atomically<T>(work: (tx: AtomicWork) => Promise<T>): Promise<T> {
    this.log.push('atomically');
    const written: RunEvent[] = [];
    const result = await work({
      manager: this.manager,
      transition: (userId, runId, change, event) => {
        const out = this.write(userId, runId, change, event);
        if (out) written.push(out);
        return Promise.resolve(out);
      },
    });
    written.forEach((event) => this.bus?.publish(event));
    return result;
  }

  complete(userId: string, run: Run, answer: string, agentName?: string): Promise<RunEvent> {
    return this.atomically(async ({ transition }) => {
      const written = await transition(
        userId,
        run.id,
        { from: ['running'], to: 'complete', result: answer },
        { type: 'agent_completed', data: { answer }, agentName },
      );
      if (!written) throw new RunFinishedError(run.id);
      return written;
    });
  }

  listEvents(userId: string, runId: string, after: number, limit: number): Promise<RunEvent[]> {
    const run = this.runs.get(runId);
    if (!run || run.userId !== userId) return Promise.resolve([]);
    return Promise.resolve(
      this.eventsOf(runId)
        .filter((e) => e.seq > after)
        .slice(0, limit),
    );
  }

  findRunnableRuns(): Promise<Run[]> {
    return Promise.resolve(
      [...this.runs.values()]
        .filter((run) => RUNNABLE_STATUSES.includes(run.status))
        .map((run) => ({ ...run })),
    );
  }

  addUsage(
    userId: string,
    runId: string,
    model: string,
    tokens: { input: number; output: number },
  ): Promise<void> {
    this.usage.push({ userId, runId, model, tokens });
    return Promise.resolve();
  }

  saveCheckpoint(userId: string, runId: string, state: object, version: number): Promise<void> {
    this.log.push('save');
    const copy = structuredClone(state);
    this.saves.push({ runId, version, state: copy });
    this.checkpoints.set(runId, structuredClone(copy));
    return Promise.resolve();
  }

  loadCheckpoint<T extends object>(userId: string, runId: string): Promise<T | null> {
    const run = this.runs.get(runId);
    const state = run?.userId === userId ? this.checkpoints.get(runId) : undefined;
    return Promise.resolve(state === undefined ? null : (structuredClone(state) as T));
  }

  asService(): StatePersistenceService {
    return this as unknown as StatePersistenceService;
  }

  private write(
    userId: string,
    runId: string,
    change: Transition,
    event: EventInput,
  ): RunEvent | null {
    const run = this.runs.get(runId);
    if (!run || run.userId !== userId || !change.from.includes(run.status)) return null;
    if (change.to) run.status = change.to;
    if (change.result !== undefined) run.result = change.result;
    if (change.error !== undefined) run.error = change.error;
    return this.insert(run, event);
  }

  private insert(run: Run, event: EventInput): RunEvent {
    run.lastSeq += 1;
    const written: RunEvent = {
      run_id: run.id,
      thread_id: run.threadId,
      seq: run.lastSeq,
      type: event.type,
      agent_name: event.agentName ?? run.agent,
      data: structuredClone(event.data),
      timestamp: new Date(0).toISOString(),
    };
    this.events.push(written);
    this.log.push(`event:${event.type}`);
    for (const waiter of this.waiters.filter((w) => w.runId === run.id && w.type === event.type)) {
      waiter.done.resolve();
    }
    return written;
  }
}

type ApprovalPort = Pick<ApprovalStore, 'findForCall' | 'open' | 'find' | 'list'>;

// ApprovalStore in memory: one interrupt per call, decided by the test.
export class FakeApprovals implements ApprovalPort {
  readonly interrupts: RunInterrupt[] = [];
  readonly opened: { manager: EntityManager; fields: Parameters<ApprovalStore['open']>[1] }[] = [];

  findForCall(userId: string, runId: string, callId: string): Promise<RunInterrupt | null> {
    return Promise.resolve(
      this.interrupts.find(
        (i) => i.userId === userId && i.runId === runId && i.callId === callId,
      ) ?? null,
    );
  }

  find(userId: string, runId: string, interruptId: string): Promise<RunInterrupt | null> {
    return Promise.resolve(
      this.interrupts.find(
        (i) => i.userId === userId && i.runId === runId && i.id === interruptId,
      ) ?? null,
    );
  }

  list(userId: string, runId: string): Promise<RunInterrupt[]> {
    return Promise.resolve(this.interrupts.filter((i) => i.userId === userId && i.runId === runId));
  }

  async open(
    manager: EntityManager,
    fields: Parameters<ApprovalStore['open']>[1],
  ): Promise<RunInterrupt> {
    this.opened.push({ manager, fields: structuredClone(fields) });
    const existing = await this.findForCall(fields.userId, fields.runId, fields.callId);
    if (existing) return existing;
    const interrupt: RunInterrupt = {
      id: randomUUID(),
      ...structuredClone(fields),
      status: 'pending',
      message: null,
      decidedBy: null,
      decidedAt: null,
      createdAt: new Date(0),
    };
    this.interrupts.push(interrupt);
    return interrupt;
  }

  // A person's answer to the only interrupt of the call.
  decide(callId: string, status: Exclude<InterruptStatus, 'pending'>, message?: string): void {
    const interrupt = this.interrupts.find((i) => i.callId === callId);
    if (!interrupt) throw new Error(`no interrupt for ${callId}`);
    interrupt.status = status;
    interrupt.message = message ?? null;
    interrupt.decidedBy = interrupt.userId;
    interrupt.decidedAt = new Date(0);
  }

  asStore(): ApprovalStore {
    return this as unknown as ApprovalStore;
  }
}

// What a model got, copied when it got it (the loop keeps adding to its message list).
export interface RecordedRequest {
  system: string;
  messages: ModelRequest['messages'];
  tools: ModelRequest['tools'];
  signal: AbortSignal;
}

export type Turn = ModelChunk[] | ((request: ModelRequest) => AsyncIterable<ModelChunk>);

// A model that answers each request with the next scripted turn and records the requests.
export class ScriptedModel implements ChatModel {
  readonly requests: RecordedRequest[] = [];
  private readonly turns: Turn[];

  constructor(
    readonly id: string,
    turns: Turn[] = [],
  ) {
    this.turns = [...turns];
  }

  script(...turns: Turn[]): void {
    this.turns.push(...turns);
  }

  stream(request: ModelRequest): AsyncIterable<ModelChunk> {
    this.requests.push({
      system: request.system,
      messages: structuredClone(request.messages),
      tools: structuredClone(request.tools),
      signal: request.signal,
    });
    const turn = this.turns.shift();
    if (!turn) return failing(new Error(`no turn scripted for request ${this.requests.length}`));
    return typeof turn === 'function' ? turn(request) : chunks(turn);
  }
}

// eslint-disable-next-line @typescript-eslint/require-await
async function* chunks(list: ModelChunk[]): AsyncIterable<ModelChunk> {
  yield* list;
}

// eslint-disable-next-line require-yield, @typescript-eslint/require-await
async function* failing(err: Error): AsyncIterable<ModelChunk> {
  throw err;
}

// A turn that fails with err after streaming some chunks.
export function failingTurn(err: Error, before: ModelChunk[] = []): Turn {
  // eslint-disable-next-line @typescript-eslint/require-await
  return async function* () {
    yield* before;
    throw err;
  };
}

// A turn that reports when it started, then waits until the request's signal aborts and fails with
// its reason, as a real model does.
export function hangingTurn(started: Deferred): Turn {
  return async function* (request) {
    started.resolve();
    await new Promise<never>((_, reject) => {
      const fail = () => reject(new Error(String(request.signal.reason)));
      if (request.signal.aborted) fail();
      else request.signal.addEventListener('abort', fail, { once: true });
    });
    yield text('never reached');
  };
}

export const text = (t: string): ModelChunk => ({ type: 'text', text: t });
export const reasoning = (t: string): ModelChunk => ({ type: 'reasoning', text: t });
export const usage = (inputTokens: number, outputTokens: number): ModelChunk => ({
  type: 'usage',
  inputTokens,
  outputTokens,
});
export const toolCall = (id: string, name: string, args: Record<string, unknown>): ModelChunk => ({
  type: 'tool_call',
  call: { id, name, arguments: args } satisfies ToolCall,
});

// An in-process bus that also tells when the executor stops following a run.
export class FakeBus extends InProcessRunEventBus {
  private readonly releases = new Map<string, Deferred & { done: boolean }>();

  override subscribe(runId: string, listener: RunEventListener): () => void {
    const current = this.releases.get(runId);
    const release = current && !current.done ? current : { ...deferred(), done: false };
    this.releases.set(runId, release);
    const unsubscribe = super.subscribe(runId, listener);
    return () => {
      unsubscribe();
      release.done = true;
      release.resolve();
    };
  }

  // Resolves when the latest subscription to the run (or the next one) is released.
  released(runId: string): Promise<void> {
    let release = this.releases.get(runId);
    if (!release) {
      release = { ...deferred(), done: false };
      this.releases.set(runId, release);
    }
    return release.promise;
  }
}
