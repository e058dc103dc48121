import { Injectable } from '@nestjs/common';
import { PER_USER } from '../context/per-user';
import { contentToText } from '@ag-ui/core';
import { RunAgentInputSchema } from '@ag-ui/core/schemas';
import { concat, from, map, mergeMap, Observable, of, takeWhile } from 'rxjs';
import { ApprovalDecisionDto } from '../approvals/dto/approval-decision.dto';
import { DomainError } from '../common/domain.error';
import { screenLooseJson, validatePayload } from '../common/validation';
import { MessageHandlerService } from '../messaging/message-handler.service';
import { recordPush } from '../metrics/metrics';
import { StartAgentDto } from '../runs/dto/start-agent.dto';
import { RunEvent } from '../runs/run-event';
import { AgUiEvent, AgUiTranslator } from './ag-ui.translator';

type RunAgentInput = ReturnType<typeof RunAgentInputSchema.parse>;
type ResumeEntry = NonNullable<RunAgentInput['resume']>[number];

// What the stream sends: AG-UI events, with the seq of the run event they came from (the SSE id
// a reconnect resumes after); none on RUN_STARTED, which every stream opens with.
export interface AgUiFrame {
  seq?: number;
  events: AgUiEvent[];
}

// Our field names in errors from the shared layer, as RunAgentInput calls them.
const INPUT_FIELDS: Record<string, string> = {
  query: 'messages',
  id: 'runId',
  thread_id: 'threadId',
  webhook: 'forwardedProps.webhook',
};

// AG-UI has no field for it: a run's webhook comes in forwardedProps.webhook.
function webhookOf(input: RunAgentInput): { webhook?: unknown } {
  const props = input.forwardedProps as { webhook?: unknown } | undefined;
  return props?.webhook === undefined ? {} : { webhook: props.webhook };
}

// The AG-UI channel: a RunAgentInput in, the run's events out as AG-UI events. The input's
// threadId names the user's thread (its id, or the client's own id for it: a new one makes a
// thread) and runId is the run's client id, so the same POST again (a reconnect, with
// Last-Event-ID) finds the same run, and the run is the same one every other channel sees.
// Everything goes through MessageHandlerService, as REST and the WebSocket do.
// Per user (PER_USER), as the MessageHandlerService it calls.
@Injectable(PER_USER)
export class AgUiChannel {
  constructor(private readonly handler: MessageHandlerService) {}

  async run(agent: string, body: unknown, after: number): Promise<Observable<AgUiFrame>> {
    const input = parseInput(body);
    const followed = input.resume?.length
      ? await this.resume(input, after)
      : await this.start(agent, input, after);
    const translator = new AgUiTranslator(
      { threadId: input.threadId, runId: input.runId, agent },
      await this.handler.getAnsweredApprovals(followed.runId),
    );
    const opened: AgUiFrame = { events: [translator.started()] };
    return concat(of(opened), this.frames(followed, translator, after));
  }

  private async start(agent: string, input: RunAgentInput, after: number) {
    const dto = await renamed(() =>
      validatePayload(StartAgentDto, {
        query: lastUserText(input),
        id: input.runId,
        thread_id: input.threadId,
        agent,
        ...webhookOf(input),
      }),
    );
    const { started, events } = await renamed(() =>
      this.handler.startAndFollow(dto, undefined, after, true),
    );
    return { runId: started.run_id, events };
  }

  // Each resume entry answers one approval (resolved: approve, unless the payload says reject;
  // cancelled: reject); the stream follows the run on from the first one. A reconnect repeats the
  // same answers, which the idempotency keys turn into replays.
  private async resume(input: RunAgentInput, after: number) {
    const [head, ...rest] = input.resume!;
    const key = (interruptId: string) => `ag-ui:${input.runId}:${interruptId}`;
    const answers = await Promise.all([head, ...rest].map((entry, i) => decisionOf(entry, i)));
    const { runId, events } = await this.handler.approveAndFollow(
      head.interruptId,
      answers[0],
      key(head.interruptId),
      after,
    );
    // The others wait on the same run (its tool calls of one turn).
    for (const [i, entry] of rest.entries()) {
      await this.handler.handleApproval(
        runId,
        entry.interruptId,
        answers[i + 1],
        key(entry.interruptId),
      );
    }
    return { runId, events };
  }

  private frames(
    followed: { runId: string; events: Observable<RunEvent> | null },
    translator: AgUiTranslator,
    after: number,
  ): Observable<AgUiFrame> {
    // Nothing after the resume point: the run has ended and the client saw it all but the end;
    // the stream repeats the end (its last event) so it closes as a finished AG-UI run.
    const events =
      followed.events ??
      from(this.handler.getRunEvents(followed.runId, Math.max(0, after - 1), 1)).pipe(
        mergeMap((page) => page),
      );
    return events.pipe(
      map((event) => {
        recordPush('ag-ui', event);
        return translator.translate(event);
      }),
      takeWhile((translated) => !translated.final, true),
    );
  }
}

// RunAgentInput is the protocol's schema, open to fields of later versions: checked with the
// protocol's own zod schema, after what no schema may let through (prototype-named keys, depth).
function parseInput(body: unknown): RunAgentInput {
  const unsafe = screenLooseJson(body);
  if (unsafe.length > 0) throw DomainError.validation(unsafe);
  const parsed = RunAgentInputSchema.safeParse(body);
  if (parsed.success) return parsed.data;
  const byField = new Map<string, string[]>();
  for (const issue of parsed.error.issues) {
    const field = issue.path.map(String).join('.') || 'body';
    byField.set(field, [...(byField.get(field) ?? []), `${field}: ${issue.message}`]);
  }
  throw DomainError.validation([...byField].map(([field, messages]) => ({ field, messages })));
}

// The run's query: the newest user message (earlier ones are in the thread already, or were the
// client's own history, which the agent does not take from the request).
function lastUserText(input: RunAgentInput): string {
  for (let i = input.messages.length - 1; i >= 0; i--) {
    const message = input.messages[i];
    if (message.role === 'user') return contentToText(message.content);
  }
  throw DomainError.validation([
    { field: 'messages', messages: ['messages must end with a user message (or send resume)'] },
  ]);
}

async function decisionOf(entry: ResumeEntry, i: number): Promise<ApprovalDecisionDto> {
  const payload = (entry.payload ?? {}) as Record<string, unknown>;
  const decision = entry.status === 'cancelled' ? 'reject' : (payload.decision ?? 'approve');
  if (typeof payload !== 'object' || Array.isArray(payload)) {
    throw DomainError.validation([
      { field: `resume.${i}.payload`, messages: ['payload must be an object'] },
    ]);
  }
  try {
    return await validatePayload(ApprovalDecisionDto, {
      decision,
      ...(payload.message === undefined ? {} : { message: payload.message }),
    });
  } catch (err) {
    throw DomainError.renamingFields(err, (field) => `resume.${i}.payload.${field}`);
  }
}

// Runs a shared-layer call, naming the fields of its validation errors as the input does.
async function renamed<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw DomainError.renamingFields(err, (field) => INPUT_FIELDS[field] ?? field);
  }
}
