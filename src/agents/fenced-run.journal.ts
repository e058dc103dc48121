import { Injectable } from '@nestjs/common';
import { ApprovalStore } from '../approvals/approval.store';
import { Tx } from '../database/transaction';
import { RunEvent } from '../runs/run-event';
import { RunEventBus } from '../runs/run-event.bus';
import { RunEventGroupCommit } from '../runs/run-event.group-commit';
import { EventInput } from '../runs/run-event.log';
import { RunClaim } from '../runs/run-fence';
import { isTerminal } from '../runs/run-status';
import { Run } from '../runs/run.entity';
import { RunJob } from '../runs/run.queue';
import { RunStore } from '../runs/run.store';
import { RunFencedError, StatePersistenceService } from '../runs/state-persistence.service';
import { Message } from '../threads/message.entity';
import { ThreadStore } from '../threads/thread.store';
import { ApprovalDecision, approvalRequired, ApprovalRequest, RunJournal } from './run-journal';

export interface ClaimedRun {
  run: Run;
  journal: RunJournal;
  // It was running already: picked up after an approval, a crash or a hand-back.
  resumed: boolean;
  // Where the execution starts: the run's checkpoint, else (a new run) the thread's conversation
  // up to it, the newest `history` messages. Read right after the claim.
  checkpoint: object | null;
  history: Pick<Message, 'role' | 'content'>[];
}

// Takes runs for their jobs and gives each execution its journal.
export abstract class RunJournals {
  abstract claim(
    job: RunJob,
    started: (run: Run) => EventInput,
    history: number,
  ): Promise<ClaimedRun | null>;
}

@Injectable()
export class FencedRunJournals extends RunJournals {
  constructor(
    private readonly persistence: StatePersistenceService,
    private readonly approvals: ApprovalStore,
    private readonly threads: ThreadStore,
    private readonly runs: RunStore,
    private readonly bus: RunEventBus,
    private readonly group: RunEventGroupCommit,
  ) {
    super();
  }

  async claim(
    job: RunJob,
    started: (run: Run) => EventInput,
    history: number,
  ): Promise<ClaimedRun | null> {
    const taken = await this.persistence.claim(job, started, history);
    if (!taken) return null;
    const { persistence, approvals, threads, runs, bus, group } = this;
    const services = { persistence, approvals, threads, runs, bus, group };
    const journal = new FencedRunJournal(taken.run, taken.claim, job, services);
    const { run, resumed, checkpoint } = taken;
    return { run, journal, resumed, checkpoint, history: taken.history };
  }
}

// What a journal writes and reads through.
interface JournalServices {
  persistence: StatePersistenceService;
  approvals: ApprovalStore;
  threads: ThreadStore;
  runs: RunStore;
  bus: RunEventBus;
  group: RunEventGroupCommit;
}

// The journal of one claim of a run (see RunJournal). It also knows which events it wrote itself,
// so a notification of anyone else's write (a cancel from another instance) can stop it at once.
class FencedRunJournal implements RunJournal {
  private ownSeq = 0;
  private writing: Promise<unknown> = Promise.resolve();
  // Token counts not yet written: they go in the journal's next transaction.
  private usage: { model: string; tokens: { input: number; output: number } }[] = [];
  // Events not yet written (see carry()): the first events of the journal's next write.
  private carried: EventInput[] = [];

  constructor(
    private readonly run: Run,
    private readonly claim: RunClaim,
    private readonly job: RunJob,
    private readonly s: JournalServices,
  ) {
    this.ownSeq = run.lastSeq;
  }

  // Through this instance's group commit, with the tokens and events not yet written.
  async append(...events: EventInput[]): Promise<void> {
    const usage = this.takeUsage();
    events = [...this.takeCarried(), ...events];
    const written = await this.track(this.s.group.append({ claim: this.claim, events, usage }));
    if (written.length === 0) throw new RunFencedError(this.claim.runId);
  }

  carry(...events: EventInput[]): void {
    this.carried.push(...events);
  }

  // A transaction of the run's own (a checkpoint, a call, a pause, the end). Carried text goes in
  // it only while the group commit is idle (one commit saved); a busy writer batches it at once with
  // every other run's text, where the run's own transaction (its end, above all, when many runs end
  // together) would make it wait.
  private async own<T extends RunEvent[] | RunEvent | null | void>(
    write: () => Promise<T>,
  ): Promise<T> {
    if (this.carried.length > 0 && this.s.group.busy()) await this.append();
    return this.track(write());
  }

  async save(checkpoint: object, version: number): Promise<void> {
    const { persistence } = this.s;
    await this.own(() =>
      persistence.atomically(async (tx) => {
        const written = await this.writeCarried(tx);
        await persistence.saveCheckpoint(tx, this.claim, checkpoint, version);
        return written;
      }),
    );
  }

  async commitCall(completed: EventInput, checkpoint: object, version: number): Promise<void> {
    const { persistence } = this.s;
    await this.own(() =>
      persistence.atomically(async (tx) => {
        await this.writeUsage(tx);
        const written = await persistence.appendIn(tx, this.claim, [
          ...this.takeCarried(),
          completed,
        ]);
        await persistence.saveCheckpoint(tx, this.claim, checkpoint, version);
        return written;
      }),
    );
  }

  // A model turn's token counts take no commit of their own: the turn's next write (its last text,
  // the checkpoint, the run's end) carries them. Lost only with the turn itself (a crash before
  // that write, which runs the turn again).
  addUsage(model: string, tokens: { input: number; output: number }): Promise<void> {
    this.usage.push({ model, tokens });
    return Promise.resolve();
  }

  // The carried events and the tokens, inside the caller's transaction before its own writes.
  private async writeCarried(tx: Tx): Promise<RunEvent[]> {
    await this.writeUsage(tx);
    const carried = this.takeCarried();
    return carried.length > 0 ? this.s.persistence.appendIn(tx, this.claim, carried) : [];
  }

  // Taken off the list when a write starts, as the tokens are.
  private takeCarried(): EventInput[] {
    const carried = this.carried;
    this.carried = [];
    return carried;
  }

  // Inside the caller's transaction, before its own writes; refused like them once the claim is
  // stale. Taken off the list first, so two writes in flight never both carry them.
  private async writeUsage(tx: Tx): Promise<void> {
    const pending = this.usage;
    this.usage = [];
    for (const { model, tokens } of pending) {
      await this.s.persistence.addUsageIn(tx, this.claim, model, tokens);
    }
  }

  // The pending tokens by model, for a group commit entry.
  private takeUsage(): Record<string, { input: number; output: number }> | undefined {
    if (this.usage.length === 0) return undefined;
    const byModel: Record<string, { input: number; output: number }> = {};
    for (const { model, tokens } of this.usage) {
      const sum = (byModel[model] ??= { input: 0, output: 0 });
      sum.input += tokens.input;
      sum.output += tokens.output;
    }
    this.usage = [];
    return byModel;
  }

  async decision(callKey: string): Promise<ApprovalDecision | null> {
    const found = await this.s.approvals.findForCall(this.claim.userId, this.run.id, callKey);
    return found && found.status !== 'pending'
      ? { status: found.status, message: found.message }
      : null;
  }

  async pause(checkpoint: object, version: number, request: ApprovalRequest): Promise<void> {
    const { persistence, approvals } = this.s;
    const { userId, runId } = this.claim;
    await this.own(() =>
      persistence.atomically(async (tx) => {
        const carried = await this.writeCarried(tx);
        await persistence.saveCheckpoint(tx, this.claim, checkpoint, version);
        const interrupt = await approvals.open(tx.manager, {
          userId,
          runId,
          callId: request.callKey,
          agentName: request.agentName,
          tool: request.tool,
          arguments: request.arguments,
        });
        const written = await persistence.write(
          tx,
          this.claim,
          { from: ['running'], to: 'requires_action' },
          [approvalRequired(request, interrupt.id)],
        );
        if (written.length === 0) throw new RunFencedError(runId);
        return [...carried, ...written];
      }),
    );
  }

  async complete(answer: string): Promise<void> {
    const { persistence, threads } = this.s;
    let carried: EventInput[] = [];
    const written = await this.own(() => {
      carried = this.takeCarried();
      return persistence.finish(
        this.claim,
        this.run,
        { from: ['running'], to: 'complete', result: answer },
        [...carried, { type: 'agent_completed', data: { answer } }],
        {
          before: (tx) => this.writeUsage(tx),
          also: async (tx) => {
            await threads.addMessage(
              this.claim.userId,
              {
                threadId: this.run.threadId,
                role: 'assistant',
                content: answer,
                runId: this.run.id,
              },
              tx.manager,
            );
            await persistence.completeJob(tx, this.job);
          },
        },
      );
    }).catch((err: unknown) => {
      // Not written: the text goes with whatever ends the run instead (fail()).
      this.carried = [...carried, ...this.carried];
      throw err;
    });
    if (!written) throw new RunFencedError(this.run.id);
  }

  async fail(message: string, code: string): Promise<void> {
    const { persistence } = this.s;
    await this.own(() =>
      persistence.finish(
        this.claim,
        this.run,
        { from: ['running'], to: 'failed', error: message },
        [...this.takeCarried(), { type: 'agent_error', data: { message, code } }],
        {
          before: (tx) => this.writeUsage(tx),
          also: (tx) => persistence.completeJob(tx, this.job),
        },
      ),
    );
  }

  lastEvent(except: readonly string[] = []): Promise<RunEvent | null> {
    return this.s.persistence.lastEvent(this.claim.userId, this.claim.runId, except);
  }

  eventsAfter(seq: number): Promise<RunEvent[]> {
    return this.s.persistence.listEvents(this.claim.userId, this.claim.runId, seq, 1_000);
  }

  watch(ended: () => void): () => void {
    const check = async (): Promise<void> => {
      const run = await this.s.runs.findByRef(this.claim.userId, this.claim.runId);
      if (!run || isTerminal(run.status) || run.attempt !== this.claim.attempt) ended();
    };
    const onSeq = (seq: number): void => {
      if (seq <= this.ownSeq) return;
      // It may be one of ours whose answer has not arrived yet: look once our writes are done.
      void this.writing
        .then(() => (seq > this.ownSeq ? check() : undefined))
        .catch(() => undefined);
    };
    const off = this.s.bus.subscribe(this.claim.runId, (ref) => onSeq(ref.seq));
    // The bus was away and may have lost a notification: look now.
    const offResync = this.s.bus.onResync(() => void check().catch(() => undefined));
    return () => {
      off();
      offResync();
    };
  }

  // Remembers the seqs this journal wrote, so the watch can tell them from anyone else's.
  private track<T extends RunEvent[] | RunEvent | null | void>(write: Promise<T>): Promise<T> {
    const tracked = write.then((result) => {
      const events: RunEvent[] = Array.isArray(result) ? result : result ? [result] : [];
      for (const e of events) this.ownSeq = Math.max(this.ownSeq, e.seq);
      return result;
    });
    this.writing = tracked.catch(() => undefined);
    return tracked;
  }
}
