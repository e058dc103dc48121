import { Injectable } from '@nestjs/common';
import { Observable } from 'rxjs';
import { isTerminalEvent, RunEvent } from './run-event';
import { RunEventBus } from './run-event.bus';
import { isTerminal } from './run-status';
import { StatePersistenceService } from './state-persistence.service';

const PAGE = 500;
// A bus may lose an event outright (a dropped NOTIFY); a follower that hears nothing re-reads the
// log this often, so even a lost terminal event ends the stream.
export const RESYNC_MS = 10_000;

// Follows a run: the stored events after `after`, then live ones, each exactly once and in seq
// order, completing after the terminal event. Used by SSE and WebSocket alike.
@Injectable()
export class RunEventStream {
  constructor(
    private readonly persistence: StatePersistenceService,
    private readonly bus: RunEventBus,
  ) {}

  // The caller has checked that the run belongs to the user.
  follow(userId: string, runId: string, after: number): Observable<RunEvent> {
    return new Observable<RunEvent>((subscriber) => {
      let last = after;
      let closed = false;
      let queue: Promise<void> = Promise.resolve();

      const emit = (event: RunEvent): void => {
        if (closed || event.seq !== last + 1) return;
        last = event.seq;
        subscriber.next(event);
        if (isTerminalEvent(event.type)) {
          closed = true;
          subscriber.complete();
        }
      };
      const catchUp = async (): Promise<void> => {
        for (;;) {
          const batch = await this.persistence.listEvents(userId, runId, last, PAGE);
          batch.forEach(emit);
          if (closed || batch.length < PAGE) return;
        }
      };
      // Work runs one task at a time, so the backlog and live events never interleave.
      const enqueue = (task: () => Promise<void>): void => {
        queue = queue.then(task).catch((err: unknown) => {
          closed = true;
          subscriber.error(err);
        });
      };

      // Subscribe before reading the backlog, so an event committed in between is not missed.
      const unsubscribe = this.bus.subscribe(runId, (event) => {
        enqueue(async () => {
          if (closed || event.seq <= last) return;
          if (event.seq === last + 1) emit(event);
          else await catchUp(); // a gap: the bus lost or reordered something; the log has it
        });
      });
      // Reads what the log has and ends the stream if the run has ended.
      const settle = async (): Promise<void> => {
        await catchUp();
        if (closed) return;
        const run = await this.persistence.findRun(userId, runId);
        if (!run || isTerminal(run.status)) {
          await catchUp();
          // Asked for events after the end (after >= last seq of a finished run): nothing is left.
          if (!closed) {
            closed = true;
            subscriber.complete();
          }
        }
      };
      enqueue(settle);
      const resync = setInterval(() => enqueue(settle), RESYNC_MS);

      return () => {
        closed = true;
        clearInterval(resync);
        unsubscribe();
      };
    });
  }
}
