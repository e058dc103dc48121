import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Tx } from '../database/transaction';
import { Message } from '../threads/message.entity';
import { ThreadStore } from '../threads/thread.store';
import { RunCheckpointStore } from './run-checkpoint.store';
import { RunEvent } from './run-event';
import { EventInput, RunEventLog, Transition } from './run-event.log';
import { RunClaim, RunOwner, RunWriterRef } from './run-fence';
import { RunJob, RunQueue } from './run.queue';
import { ACTIVE_STATUSES } from './run-status';
import { Run } from './run.entity';
import { RunStore } from './run.store';

// A run's end that its fence refused, inside finish(): the transaction is rolled back.
class FinishRefused extends Error {}

// What an executor's claim hands it: the run, its fence, and what it starts from.
export interface ClaimedRunState {
  run: Run;
  claim: RunClaim;
  // It was running already: picked up after an approval, a crash or a hand-back.
  resumed: boolean;
  checkpoint: object | null;
  // The thread's conversation up to the run, when it has no checkpoint (else empty).
  history: Message[];
}

// The run has ended, or another executor has claimed it since: nothing more may be written under
// this claim, and the executor lets go of the run.
export class RunFencedError extends Error {
  constructor(readonly runId: string) {
    super(`run ${runId} has ended or is held by a newer claim`);
  }
}

// How a run's state changes, as transactions: each write is fenced (RunEventLog, RunCheckpointStore,
// RunStore carry the check) and every change to which runs a thread has takes the thread's lock
// first, then hands the thread to its next queued run in the same transaction.
@Injectable()
export class StatePersistenceService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly log: RunEventLog,
    private readonly runs: RunStore,
    private readonly checkpoints: RunCheckpointStore,
    private readonly threads: ThreadStore,
    private readonly queue: RunQueue,
  ) {}

  atomically<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return Tx.run(this.db, work);
  }

  // Events (and a transition) inside the caller's transaction; [] when refused.
  write(
    tx: Tx,
    writer: RunWriterRef,
    change: Transition,
    events: EventInput[],
  ): Promise<RunEvent[]> {
    return this.log.write(tx, writer, change, events);
  }

  // Events of a running run inside the caller's transaction (a tool call's event with its
  // checkpoint); throws RunFencedError once the run ended or was claimed again. Streamed events go
  // through RunEventGroupCommit instead.
  async appendIn(tx: Tx, claim: RunClaim, events: EventInput[]): Promise<RunEvent[]> {
    const written = await this.log.write(tx, claim, { from: ['running'] }, events);
    if (written.length === 0) throw new RunFencedError(claim.runId);
    return written;
  }

  async saveCheckpoint(tx: Tx, claim: RunClaim, state: object, version: number): Promise<void> {
    if (!(await this.checkpoints.save(tx, claim, state, version))) {
      throw new RunFencedError(claim.runId);
    }
  }

  // A model call's tokens, inside the caller's transaction; refused once the claim is stale.
  async addUsageIn(
    tx: Tx,
    claim: RunClaim,
    model: string,
    tokens: { input: number; output: number },
  ): Promise<void> {
    if (!(await this.runs.addUsage(tx, claim, model, tokens))) {
      throw new RunFencedError(claim.runId);
    }
  }

  lastEvent(userId: string, runId: string, except: readonly string[]): Promise<RunEvent | null> {
    return this.log.last(userId, runId, except);
  }

  listEvents(userId: string, runId: string, after: number, limit: number): Promise<RunEvent[]> {
    return this.log.list(userId, runId, after, limit);
  }

  // An executor takes the run for `job`: a new attempt, and for a queued run its start (running,
  // with `started`). Null when there is nothing to execute, or when this fetch of the job is no
  // longer the live one (the queue gave it to another worker meanwhile). Run row first, then the
  // job's, as the transaction that ends a run takes them. Then what the execution starts from: the
  // checkpoint of a run that was running, else the thread's newest `history` messages (one read; a
  // new run has no checkpoint to look for). Read after the claim's commit, not in it: the claim
  // holds the run's and the job's rows, and with the reads inside it, a hundred runs starting at
  // once raised the p99 delay of their streamed text from 0.2 to 0.7 s (the stream figure).
  async claim(
    job: RunJob,
    started: (run: Run) => EventInput,
    history: number,
  ): Promise<ClaimedRunState | null> {
    const taken = await this.take(job, started);
    if (!taken) return null;
    const { run, claim, resumed } = taken;
    // Only a run that was running has a checkpoint: it is written under a running claim.
    const checkpoint = resumed ? await this.checkpoints.load<object>(claim.userId, run.id) : null;
    const messages = checkpoint ? [] : await this.threads.conversationFor(run, history);
    return { run, claim, resumed, checkpoint, history: messages };
  }

  private take(
    job: RunJob,
    started: (run: Run) => EventInput,
  ): Promise<Pick<ClaimedRunState, 'run' | 'claim' | 'resumed'> | null> {
    const { run_id: runId, user_id: userId } = job.data;
    return this.atomically(async (tx) => {
      const runnable = await this.runs.lockRunnable(tx, userId, runId);
      if (!runnable || !(await this.queue.holds(tx, job))) return null;
      const run = await this.runs.claim(tx, runnable);
      const claim = { userId, runId, attempt: run.attempt };
      const resumed = run.status === 'running';
      if (!resumed) {
        const [event] = await this.log.write(tx, claim, { from: ['queued'], to: 'running' }, [
          started(run),
        ]);
        run.status = 'running';
        run.lastSeq = event.seq;
      }
      return { run, claim, resumed };
    });
  }

  // Ends a run (complete, failed, cancelled) with its last events, the terminal one last (an
  // executor's last streamed text goes with it), after `before` (what the terminal event sums up:
  // the last tokens) and with `also` (the answer's message, the job's completion), then starts the
  // thread's next run. Returns the terminal event; null when the run had already left
  // `change.from` (or the claim is stale): it is left as it is.
  finish(
    writer: RunWriterRef,
    run: Pick<Run, 'threadId'>,
    change: Transition,
    events: EventInput[],
    steps: { before?: (tx: Tx) => Promise<void>; also?: (tx: Tx) => Promise<void> } = {},
  ): Promise<RunEvent | null> {
    return this.atomically(async (tx) => {
      await this.threads.lockForRuns(tx, writer.userId, run.threadId);
      await steps.before?.(tx);
      const written = await this.log.write(tx, writer, change, events);
      // Refused: what `before` wrote (the executor's last tokens) is rolled back with it.
      if (written.length === 0) throw new FinishRefused();
      await steps.also?.(tx);
      await this.dispatchNext(tx, writer.userId, run.threadId);
      return written[written.length - 1];
    }).catch((err: unknown) => {
      if (err instanceof FinishRefused) return null;
      throw err;
    });
  }

  cancel(owner: RunOwner, run: Pick<Run, 'threadId'>, reason: string): Promise<RunEvent | null> {
    return this.finish(owner, run, { from: ACTIVE_STATUSES, to: 'cancelled', error: reason }, [
      { type: 'agent_cancelled', data: { reason } },
    ]);
  }

  // Cancels inside the caller's transaction, which holds the thread's lock and decides what runs
  // next (a newer run interrupting, or the thread being deleted).
  async cancelIn(tx: Tx, owner: RunOwner, reason: string): Promise<boolean> {
    const written = await this.log.write(
      tx,
      owner,
      { from: ACTIVE_STATUSES, to: 'cancelled', error: reason },
      [{ type: 'agent_cancelled', data: { reason } }],
    );
    return written.length > 0;
  }

  // Every unfinished run of the thread, inside the caller's transaction (which holds the thread's
  // lock): a newer run interrupting them, or the thread being deleted.
  async cancelThreadRuns(tx: Tx, userId: string, threadId: string, reason: string): Promise<void> {
    for (const run of await this.runs.activeOnThread(tx, userId, threadId)) {
      await this.cancelIn(tx, { userId, runId: run.id }, reason);
    }
  }

  // A run waiting for a person goes on (an approval was answered): running again, with its event,
  // and a job that continues it from its checkpoint. False when it no longer waits.
  async resume(tx: Tx, owner: RunOwner, run: Run, event: EventInput): Promise<boolean> {
    const written = await this.log.write(tx, owner, { from: ['requires_action'], to: 'running' }, [
      event,
    ]);
    if (written.length === 0) return false;
    await this.dispatch(tx, run);
    return true;
  }

  // The thread's first unfinished run executes; if it is queued and has no job yet (it waited its
  // turn), it gets one now. Called with the thread locked, after every change of its runs.
  async dispatchNext(tx: Tx, userId: string, threadId: string): Promise<Run | null> {
    const [head, ...rest] = await this.runs.activeOnThread(tx, userId, threadId);
    if (!head || head.status !== 'queued' || head.jobId) return null;
    // Never a second job on the thread: the ones behind the head wait without one.
    if (rest.some((run) => run.jobId || run.status !== 'queued')) return null;
    await this.dispatch(tx, head);
    return head;
  }

  // Sends the job that executes (or continues) the run, and records it on the run.
  async dispatch(tx: Tx, run: Run): Promise<void> {
    run.jobId = await this.queue.dispatch(tx, run);
    await this.runs.setJob(tx, run.id, run.jobId);
  }

  // A run whose job ran out of retries (it kept killing its worker, or an outage outlasted them):
  // it ends failed, if it had not ended, and the failed job is removed, which would otherwise hold
  // back every later run of its thread (key_strict_fifo).
  async endSpent(owner: RunOwner, jobId: string): Promise<void> {
    const run = await this.runs.findByRef(owner.userId, owner.runId);
    if (run) {
      const message = 'The run could not be completed: it was tried too many times.';
      await this.finish(owner, run, { from: ['queued', 'running'], to: 'failed', error: message }, [
        { type: 'agent_error', data: { message, code: 'retries_exhausted' } },
      ]);
    }
    await this.queue.forget(jobId);
  }

  // Completes the run's job in the transaction that ends the run (see RunQueue.completeIn).
  completeJob(tx: Tx, job: RunJob): Promise<void> {
    return this.queue.completeIn(tx, job);
  }
}
