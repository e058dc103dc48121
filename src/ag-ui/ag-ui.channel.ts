import { Injectable } from '@nestjs/common';
import { PER_USER } from '../context/per-user';
import { contentToText } from '@ag-ui/core';
import { RunAgentInputSchema } from '@ag-ui/core/schemas';
import { concat, EMPTY, lastValueFrom, map, Observable, of, takeWhile, toArray } from 'rxjs';
import { ApprovalDecisionDto } from '../approvals/dto/approval-decision.dto';
import { DomainError } from '../common/domain.error';
import { screenLooseJson, validatePayload } from '../common/validation';
import { MessageHandlerService } from '../messaging/message-handler.service';
import { recordPush } from '../metrics/metrics';
import { StartAgentDto } from '../runs/dto/start-agent.dto';
import { RunEvent } from '../runs/run-event';
import { AgUiFrame, AgUiTranslator, framesOf, ResumePoint, STARTED_ID } from './ag-ui.translator';

type RunAgentInput = ReturnType<typeof RunAgentInputSchema.parse>;
type ResumeEntry = NonNullable<RunAgentInput['resume']>[number];

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

  // The stream's frames, in batches written at once (those of one run event); a reconnect's
  // (`after`: its Last-Event-ID) goes on after the frame it names. Null: nothing is left after it.
  async run(
    agent: string,
    body: unknown,
    after?: ResumePoint,
  ): Promise<Observable<AgUiFrame[]> | null> {
    const input = parseInput(body);
    // From the stream's start, a reconnect's too (see resumed).
    const followed = input.resume?.length
      ? await this.resume(input)
      : await this.start(agent, input);
    const translator = new AgUiTranslator(
      { threadId: input.threadId, runId: input.runId, agent },
      await this.handler.getAnsweredApprovals(followed.runId),
    );
    if (after) return this.resumed(followed, translator, after);
    const opened = [{ id: STARTED_ID, event: translator.started() }];
    return concat(of(opened), this.frames(followed.events, translator));
  }

  private async start(agent: string, input: RunAgentInput) {
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
      this.handler.startAndFollow(dto, undefined, 0, true),
    );
    return { runId: started.run_id, events };
  }

  // Each resume entry answers one approval (resolved: approve, unless the payload says reject;
  // cancelled: reject); the stream follows the run on from the first one. A reconnect repeats the
  // same answers, which the idempotency keys turn into replays.
  private async resume(input: RunAgentInput) {
    const [head, ...rest] = input.resume!;
    const key = (interruptId: string) => `ag-ui:${input.runId}:${interruptId}`;
    const answers = await Promise.all([head, ...rest].map((entry, i) => decisionOf(entry, i)));
    const { runId, events } = await this.handler.approveAndFollow(
      head.interruptId,
      answers[0],
      key(head.interruptId),
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

  // A reconnect goes on with exactly the frames a continuous stream would have sent after the
  // one it names. What they are depends on what the translator held there (a message or a step
  // open, the calls shown), so the stream's events are translated again from its start and their
  // frames up to the resume point left out. Those events are stored (the client saw their
  // frames), so whether anything is left is known before the response starts.
  private async resumed(
    followed: { runId: string; events: Observable<RunEvent> | null },
    translator: AgUiTranslator,
    after: ResumePoint,
  ): Promise<Observable<AgUiFrame[]> | null> {
    if (!followed.events) return null;
    // RUN_STARTED's id: all the stream but RUN_STARTED.
    if (after.seq < 1) return this.frames(followed.events, translator);
    // A frame the client saw was committed first: one past the stored events was never sent (and
    // waiting for it would hold the request open until the run got that far, if ever).
    const [stored] = await this.handler.getRunEvents(followed.runId, after.seq - 1, 1);
    if (!stored) {
      throw DomainError.validation([
        { field: 'Last-Event-ID', messages: ['Last-Event-ID names a frame this run has not sent'] },
      ]);
    }
    // Up to the resume point's event (or the first after it, if the stream has none of that seq).
    const replayed = await lastValueFrom(
      followed.events.pipe(
        takeWhile((event) => event.seq < after.seq, true),
        toArray(),
      ),
    );
    const head: AgUiFrame[] = [];
    let final = false;
    for (const event of replayed) {
      // The stream ended at this approval (it was pending then) and the client saw the end: an
      // answer since does not make the stream go on, which would send frames after RUN_FINISHED.
      if (event.seq === after.seq && translator.endedBefore(event, after.n)) {
        final = true;
        break;
      }
      const translated = translator.translate(event);
      const frames = framesOf(translated, after);
      if (frames.length > 0) recordPush('ag-ui', event);
      head.push(...frames);
      final = translated.final;
      if (final) break;
    }
    // The rest of the run, read on from where the replay stopped.
    const last = replayed.at(-1)?.seq;
    const rest =
      final || last === undefined
        ? null
        : (await this.handler.followRun(followed.runId, last)).events;
    if (!rest) return head.length > 0 ? of(head) : null;
    return concat(of(head), this.frames(rest, translator));
  }

  private frames(
    events: Observable<RunEvent> | null,
    translator: AgUiTranslator,
  ): Observable<AgUiFrame[]> {
    return (events ?? EMPTY).pipe(
      map((event) => {
        recordPush('ag-ui', event);
        return translator.translate(event);
      }),
      takeWhile((translated) => !translated.final, true),
      map((translated) => framesOf(translated)),
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
