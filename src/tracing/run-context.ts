import { trace } from '@opentelemetry/api';
import { addLogFields } from '../logging/log-context';
import { RUN_ID } from './tracer';

// The request or frame at hand is about this run: its span and its log lines say so, so an
// operator finds the request that started a run (or read it) by the run's id.
export function aboutRun(runId: string): void {
  trace.getActiveSpan()?.setAttribute(RUN_ID, runId);
  addLogFields({ run_id: runId });
}
