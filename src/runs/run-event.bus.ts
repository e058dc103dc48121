import { Injectable } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import { Tx } from '../database/transaction';
import { RunEvent } from './run-event';

// What a notification says: this run has events up to `seq`; and, when they fit in it, the events
// that commit wrote (ending at `seq`), so a follower that has everything before them needs no read.
// run_events stays the truth: a follower behind them, or told nothing but the seq, reads the log.
export interface RunEventRef {
  run_id: string;
  seq: number;
  events?: RunEvent[];
}

export type RunEventListener = (ref: RunEventRef) => void;

// The one port every live event goes through, on every instance. publish() runs inside the
// transaction that writes the events, so nobody hears of an event before it is committed; one call
// per transaction names every run it wrote (a group commit writes many). A bus may
// drop, repeat or reorder: followers (RunEventStream) repair that from the log, and are told to
// re-read everything when the bus itself may have missed notifications (onResync).
export abstract class RunEventBus {
  abstract publish(tx: Tx, refs: RunEventRef[]): Promise<void>;
  abstract subscribe(runId: string, listener: RunEventListener): () => void;
  abstract onResync(listener: () => void): () => void;
}

// One process only: unit tests, and a reference for what the port promises.
@Injectable()
export class InProcessRunEventBus extends RunEventBus {
  protected readonly emitter = new EventEmitter().setMaxListeners(0);

  publish(tx: Tx, refs: RunEventRef[]): Promise<void> {
    tx.afterCommit(() => refs.forEach((ref) => this.deliver(ref)));
    return Promise.resolve();
  }

  subscribe(runId: string, listener: RunEventListener): () => void {
    this.emitter.on(runId, listener);
    return () => this.emitter.off(runId, listener);
  }

  onResync(listener: () => void): () => void {
    this.emitter.on(RESYNC, listener);
    return () => this.emitter.off(RESYNC, listener);
  }

  // How many listeners a run has in this process (the executor counts as one).
  listenerCount(runId: string): number {
    return this.emitter.listenerCount(runId);
  }

  protected deliver(ref: RunEventRef): void {
    this.emitter.emit(ref.run_id, ref);
  }

  protected resync(): void {
    this.emitter.emit(RESYNC);
  }
}

// Not a uuid, so it can never be a run's channel.
const RESYNC = 'resync';
