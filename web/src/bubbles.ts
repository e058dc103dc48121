import { el } from './dom';
import { renderMarkdown } from './markdown';
import { RunStatus, TokenUsage } from './types';

// The turns of a conversation that are not a live run: the user's messages, and answers and ended
// runs read back from the history.

export function userBubble(text: string, note?: string): HTMLElement {
  const bubble = el(
    'article',
    { class: 'turn user', 'aria-label': 'You' },
    el('p', { class: 'user-text' }, text),
  );
  if (note) setNote(bubble, note);
  return bubble;
}

export function setNote(bubble: HTMLElement, note: string | null, failed = false): void {
  bubble.querySelector('.note')?.remove();
  bubble.classList.toggle('failed', failed);
  if (note) bubble.append(el('p', { class: 'note', role: failed ? 'alert' : undefined }, note));
}

export function answerBubble(content: string, usage?: TokenUsage): HTMLElement {
  const body = el('div', { class: 'markdown' });
  renderMarkdown(body, content);
  return el(
    'article',
    { class: 'turn assistant', 'aria-label': 'Agent' },
    body,
    usage
      ? el(
          'footer',
          { class: 'run-footer' },
          el(
            'span',
            { class: 'usage' },
            `Tokens: ${usage.input_tokens} in · ${usage.output_tokens} out`,
          ),
        )
      : null,
  );
}

export function endedNote(run: RunStatus): HTMLElement {
  const text = run.status === 'cancelled' ? 'Stopped' : `Failed: ${run.error ?? 'the run failed'}`;
  return el(
    'article',
    { class: 'turn assistant', 'aria-label': 'Agent' },
    el(
      'p',
      { class: 'run-status', 'data-tone': run.status === 'cancelled' ? 'stopped' : 'failed' },
      text,
    ),
  );
}
