import { Injectable } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import { RunEvent } from './run-event';

export type RunEventListener = (event: RunEvent) => void;

// The seam every live event goes through. Events are already in run_events when published, so a
// bus may drop, repeat or reorder: subscribers (RunEventStream) repair that from the database.
// Several app instances will swap the in-process bus for PostgreSQL LISTEN/NOTIFY here.
export abstract class RunEventBus {
  abstract publish(event: RunEvent): void;
  abstract subscribe(runId: string, listener: RunEventListener): () => void;
}

@Injectable()
export class InProcessRunEventBus extends RunEventBus {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  publish(event: RunEvent): void {
    this.emitter.emit(event.run_id, event);
  }

  subscribe(runId: string, listener: RunEventListener): () => void {
    this.emitter.on(runId, listener);
    return () => this.emitter.off(runId, listener);
  }

  // How many followers a run has in this process (the executor counts as one).
  listenerCount(runId: string): number {
    return this.emitter.listenerCount(runId);
  }
}
