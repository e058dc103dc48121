import { el, errorText, json } from './dom';

// The pieces of a run's timeline, as DOM: RunView decides which event makes or changes which.

export interface TextPart {
  element: HTMLElement;
  body: HTMLElement;
  text: string;
}

export const DELEGATE = 'delegate';

export function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

export function thinkingPart(agent: string): TextPart {
  const body = el('p', { class: 'thinking-text' });
  const element = el(
    'li',
    { class: 'part thinking' },
    el('details', { open: true }, el('summary', {}, `Thinking (${agent})`), body),
  );
  return { element, body, text: '' };
}

// The answer of the run's own agent, or (labelled) of a sub-agent in its lane.
export function answerPart(agent: string, subAgent: boolean): TextPart {
  const body = el('div', { class: 'markdown' });
  const element = el(
    'li',
    { class: subAgent ? 'part answer sub-answer' : 'part answer', 'data-agent': agent },
    subAgent ? el('p', { class: 'part-label' }, `${agent} says`) : null,
    body,
  );
  return { element, body, text: '' };
}

export function toolPart(tool: string, callId: string, args: unknown): HTMLElement {
  return el(
    'li',
    { class: 'part tool', 'data-call-id': callId, 'data-tool': tool },
    el(
      'p',
      { class: 'part-head' },
      el('span', { class: 'tool-name' }, tool),
      ' ',
      badge('running'),
    ),
    el('pre', { class: 'arguments', 'aria-label': `${tool} arguments` }, json(args)),
  );
}

// A task handed to a sub-agent, with the lane its own steps go into.
export function handOffPart(
  agent: string,
  callId: string,
  target: string,
  task: string,
): { part: HTMLElement; lane: HTMLOListElement } {
  const lane = el('ol', { class: 'timeline sub-timeline', 'aria-label': `${target}'s work` });
  const part = el(
    'li',
    { class: 'part handoff', 'data-call-id': callId, 'data-tool': DELEGATE },
    el(
      'p',
      { class: 'part-head' },
      `${agent} handed a task to `,
      el('strong', {}, target),
      ' ',
      badge('working'),
    ),
    el('blockquote', { class: 'task' }, task),
    lane,
  );
  return { part, lane };
}

// tool_progress data: { done, total?, message? }.
export function showProgress(part: HTMLElement, data: Record<string, unknown>): void {
  let bar = part.querySelector('progress');
  let label = part.querySelector<HTMLElement>('.progress-text');
  if (!bar || !label) {
    bar = el('progress', { 'aria-label': `${part.dataset.tool ?? 'tool'} progress` });
    label = el('span', { class: 'progress-text' });
    part.append(el('div', { class: 'progress' }, bar, label));
  }
  const done = num(data.done);
  const total = typeof data.total === 'number' && data.total > 0 ? data.total : undefined;
  if (total !== undefined) {
    bar.max = total;
    bar.value = Math.min(done, total);
  } else {
    bar.removeAttribute('value'); // indeterminate
  }
  label.textContent = str(data.message) ?? (total ? `${done} of ${total}` : `${done}`);
}

// tool_completed data: { result, is_error }.
export function showResult(part: HTMLElement, data: Record<string, unknown>): void {
  const failed = data.is_error === true;
  const mark = part.querySelector<HTMLElement>('.badge');
  if (mark) {
    mark.dataset.tone = failed ? 'failed' : 'done';
    mark.textContent = failed ? 'failed' : 'done';
  }
  const bar = part.querySelector('progress');
  if (bar && !failed && bar.max) bar.value = bar.max;
  if (part.dataset.tool === DELEGATE) return; // the sub-agent's answer is in its lane
  part.append(
    el(
      'details',
      { class: 'result', open: failed },
      el('summary', {}, failed ? 'Error' : 'Result'),
      el('pre', {}, json(data.result)),
    ),
  );
}

export type Decision = 'approve' | 'reject';

// A tool call waiting for a person: what would run, and the two answers.
export function approvalPart(
  agent: string,
  tool: string,
  args: unknown,
  decide: (decision: Decision) => Promise<void>,
): HTMLElement {
  const approve = el('button', { type: 'button', class: 'primary' }, 'Approve');
  const reject = el('button', { type: 'button', class: 'danger' }, 'Reject');
  const outcome = el('p', { class: 'decision', role: 'status' });
  const send = (decision: Decision) => {
    approve.disabled = reject.disabled = true;
    outcome.textContent = decision === 'approve' ? 'Approving…' : 'Rejecting…';
    decide(decision).catch((err: unknown) => {
      approve.disabled = reject.disabled = false;
      outcome.textContent = `Could not send the decision: ${errorText(err)}`;
    });
  };
  approve.addEventListener('click', () => send('approve'));
  reject.addEventListener('click', () => send('reject'));
  return el(
    'li',
    { class: 'part approval', role: 'group', 'aria-label': `Approval for ${tool}` },
    el('p', { class: 'part-head' }, `${agent} wants to run `, el('strong', {}, tool), ' with:'),
    el('pre', { class: 'arguments', 'aria-label': `${tool} arguments` }, json(args)),
    el('div', { class: 'buttons' }, approve, reject),
    outcome,
  );
}

export function showDecision(part: HTMLElement, approved: boolean, message?: string): void {
  part.querySelector('.buttons')?.remove();
  const outcome = part.querySelector<HTMLElement>('.decision');
  if (outcome) {
    outcome.textContent = `${approved ? 'Approved' : 'Rejected'}${message ? `: ${message}` : ''}`;
  }
  part.dataset.decision = approved ? 'approved' : 'rejected';
}

function badge(text: string): HTMLElement {
  return el('span', { class: 'badge', 'data-tone': 'active' }, text);
}
