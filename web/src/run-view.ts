import { el } from './dom';
import { renderMarkdown } from './markdown';
import {
  answerPart,
  approvalPart,
  DELEGATE,
  handOffPart,
  num,
  showDecision,
  showProgress,
  showResult,
  str,
  TextPart,
  thinkingPart,
  toolPart,
} from './run-parts';
import { RunEvent, RunUsage } from './types';

export interface RunViewActions {
  decide(runId: string, interruptId: string, decision: 'approve' | 'reject'): Promise<void>;
  // The run's usage when its terminal event does not carry it.
  usage(runId: string): Promise<RunUsage | undefined>;
}

type Tone = 'active' | 'waiting' | 'done' | 'failed' | 'stopped';

// One run of the agents, as its events arrive: the thinking, each tool call with its arguments,
// progress and result, hand-offs to sub-agents (their own steps nested under the hand-off), a
// tool call waiting for approval, the answer streaming in (Markdown), and at the end its status
// and token usage. Every event is applied once, in seq order; the event log lists them.
export class RunView {
  readonly element: HTMLElement;
  private readonly timeline: HTMLOListElement;
  private readonly status: HTMLElement;
  private readonly usageLine: HTMLElement;
  private readonly log: HTMLOListElement;
  private readonly logSummary: HTMLElement;
  private rootAgent?: string;
  private lastSeq = 0;
  private readonly texts = new Map<string, TextPart>();
  private readonly tools = new Map<string, HTMLElement>();
  private readonly approvals = new Map<string, HTMLElement>();
  // Where an agent's steps go: under the hand-off that started it, or the run's own timeline.
  private readonly lanes = new Map<string, HTMLOListElement>();
  // The latest step of each agent, whose partial text a resumed run drops.
  private readonly steps = new Map<string, number>();

  constructor(
    readonly runId: string,
    private readonly actions: RunViewActions,
  ) {
    this.timeline = el('ol', { class: 'timeline' });
    this.status = el('span', { class: 'run-status', 'data-tone': 'active' }, 'Working…');
    this.usageLine = el('span', { class: 'usage' });
    this.logSummary = el('summary', {}, 'Events (0)');
    this.log = el('ol', { class: 'event-log' });
    this.element = el(
      'article',
      { class: 'turn assistant', 'data-run-id': runId, 'aria-label': 'Agent' },
      this.timeline,
      el(
        'footer',
        { class: 'run-footer' },
        this.status,
        this.usageLine,
        el('details', { class: 'events' }, this.logSummary, this.log),
      ),
    );
  }

  get ended(): boolean {
    return ['done', 'failed', 'stopped'].includes(this.status.dataset.tone ?? '');
  }

  queued(): void {
    if (this.lastSeq === 0) this.setStatus('waiting', "Queued behind the thread's earlier runs");
  }

  apply(event: RunEvent): void {
    if (event.seq <= this.lastSeq) return;
    this.lastSeq = event.seq;
    this.logEvent(event);
    const data = event.data;
    const agent = event.agent_name;
    switch (event.type) {
      case 'agent_started':
        this.rootAgent = str(data.agent) ?? agent;
        this.element.setAttribute('aria-label', this.rootAgent);
        this.setStatus('active', 'Working…');
        break;
      case 'agent_thinking':
        this.appendText('thinking', agent, num(data.step), str(data.text) ?? '');
        break;
      case 'agent_response_chunk':
        this.appendText('answer', agent, num(data.step), str(data.text) ?? '');
        break;
      case 'tool_executing':
        this.toolStarted(agent, data);
        break;
      case 'tool_progress':
        this.withTool(data, (part) => showProgress(part, data));
        break;
      case 'tool_completed':
        this.withTool(data, (part) => showResult(part, data));
        break;
      case 'approval_required':
        this.approvalRequired(agent, data);
        break;
      case 'approval_resolved':
        this.approvalResolved(data);
        break;
      case 'agent_resumed':
        this.resumed(agent, data.partial === 'kept');
        break;
      case 'agent_completed':
        this.completed(str(data.answer) ?? '');
        void this.showUsage(data.usage);
        break;
      case 'agent_error':
        this.setStatus('failed', `Failed: ${str(data.message) ?? 'the run failed'}`);
        void this.showUsage(data.usage);
        break;
      case 'agent_cancelled':
        this.setStatus('stopped', 'Stopped');
        this.closeOpenParts();
        void this.showUsage(data.usage);
        break;
      default:
        break; // a type this page does not know yet: it is in the event log
    }
  }

  private isRoot(agent: string): boolean {
    return this.rootAgent === undefined || agent === this.rootAgent;
  }

  private lane(agent: string): HTMLOListElement {
    return this.isRoot(agent) ? this.timeline : (this.lanes.get(agent) ?? this.timeline);
  }

  private withTool(data: Record<string, unknown>, change: (part: HTMLElement) => void): void {
    const part = this.tools.get(str(data.call_id) ?? '');
    if (part) change(part);
  }

  private appendText(kind: 'thinking' | 'answer', agent: string, step: number, text: string): void {
    const key = `${kind}:${agent}:${step}`;
    this.steps.set(agent, Math.max(step, this.steps.get(agent) ?? 0));
    let part = this.texts.get(key);
    if (!part) {
      part = kind === 'thinking' ? thinkingPart(agent) : answerPart(agent, !this.isRoot(agent));
      this.texts.set(key, part);
      this.lane(agent).append(part.element);
    }
    part.text += text;
    if (kind === 'answer') renderMarkdown(part.body, part.text);
    else part.body.textContent = part.text;
  }

  private toolStarted(agent: string, data: Record<string, unknown>): void {
    const tool = str(data.tool) ?? 'tool';
    const callId = str(data.call_id) ?? `${this.lastSeq}`;
    const args = (data.arguments ?? {}) as Record<string, unknown>;
    if (tool !== DELEGATE) {
      const part = toolPart(tool, callId, args);
      this.tools.set(callId, part);
      this.lane(agent).append(part);
      return;
    }
    const target = str(args.agent) ?? 'another agent';
    const { part, lane } = handOffPart(agent, callId, target, str(args.task) ?? '');
    this.lanes.set(target, lane);
    this.tools.set(callId, part);
    this.lane(agent).append(part);
  }

  private approvalRequired(agent: string, data: Record<string, unknown>): void {
    const interruptId = str(data.interrupt_id) ?? '';
    const tool = str(data.tool) ?? 'tool';
    const part = approvalPart(agent, tool, data.arguments ?? {}, (decision) =>
      this.actions.decide(this.runId, interruptId, decision),
    );
    this.approvals.set(interruptId, part);
    this.lane(agent).append(part);
    this.setStatus('waiting', 'Waiting for your approval');
  }

  private approvalResolved(data: Record<string, unknown>): void {
    const part = this.approvals.get(str(data.interrupt_id) ?? '');
    if (!part) return;
    showDecision(part, data.decision === 'approve', str(data.message));
    this.setStatus('active', 'Working…');
  }

  // Another executor picked the run up: the text of the step that was cut off comes again.
  // The run was picked up again: what streamed of the step in flight is continued (kept), or
  // dropped and streamed again from its start.
  private resumed(agent: string, kept: boolean): void {
    const step = this.steps.get(agent);
    if (step !== undefined && !kept) {
      for (const kind of ['thinking', 'answer']) {
        const key = `${kind}:${agent}:${step}`;
        this.texts.get(key)?.element.remove();
        this.texts.delete(key);
      }
    }
    const note = kept
      ? 'The run was picked up again after an interruption.'
      : 'The answer is given again from its start.';
    this.lane(agent).append(el('li', { class: 'part note' }, note));
  }

  // The answer in full replaces what streamed of the last step (they agree unless chunks were lost
  // to a resume); there is always one answer part.
  private completed(answer: string): void {
    const agent = this.rootAgent ?? '';
    const key = `answer:${agent}:${this.steps.get(agent) ?? 0}`;
    let part = this.texts.get(key);
    if (!part) {
      part = answerPart(agent, false);
      this.texts.set(key, part);
      this.timeline.append(part.element);
    }
    part.text = answer;
    renderMarkdown(part.body, answer);
    this.closeOpenParts();
    this.setStatus('done', 'Completed');
  }

  private closeOpenParts(): void {
    for (const part of this.approvals.values()) part.querySelector('.buttons')?.remove();
  }

  private async showUsage(carried: unknown): Promise<void> {
    let usage = isUsage(carried) ? carried : undefined;
    if (!usage) {
      try {
        usage = await this.actions.usage(this.runId);
      } catch {
        return; // the run is shown without its usage
      }
    }
    if (!usage) return;
    this.usageLine.textContent = `Tokens: ${usage.input_tokens} in · ${usage.output_tokens} out`;
    const models = Object.entries(usage.models ?? {});
    if (models.length > 0) {
      this.usageLine.title = models
        .map(([model, u]) => `${model}: ${u.input_tokens} in, ${u.output_tokens} out`)
        .join('\n');
    }
  }

  private setStatus(tone: Tone, text: string): void {
    this.status.dataset.tone = tone;
    this.status.textContent = text;
  }

  private logEvent(event: RunEvent): void {
    const agent = this.isRoot(event.agent_name) ? '' : ` (${event.agent_name})`;
    this.log.append(
      el(
        'li',
        { 'data-seq': String(event.seq), 'data-type': event.type },
        `#${event.seq} ${event.type}${agent}`,
      ),
    );
    this.logSummary.textContent = `Events (${this.log.childElementCount})`;
  }
}

function isUsage(value: unknown): value is RunUsage {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as RunUsage).input_tokens === 'number' &&
    typeof (value as RunUsage).output_tokens === 'number'
  );
}
