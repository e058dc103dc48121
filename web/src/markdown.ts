import DOMPurify from 'dompurify';
import { marked } from 'marked';

// Model output is untrusted: Markdown is rendered with marked, then everything it produced goes
// through DOMPurify before it reaches the page, so raw HTML in an answer (`<img onerror>`, a
// `<script>`, a `javascript:` link) is inert. The CSP (no inline scripts, helmet's default) is a
// second wall behind this one.
const purifier = DOMPurify(window);

purifier.addHook('afterSanitizeAttributes', (node) => {
  // Links open in a new tab, without giving it a handle on this one.
  if (node instanceof HTMLAnchorElement && node.hasAttribute('href')) {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer');
  }
});

const OPTIONS = {
  // Only the profile of plain HTML: no SVG or MathML, no forms, no styles.
  USE_PROFILES: { html: true },
  FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select'],
  FORBID_ATTR: ['style'],
};

export function renderMarkdown(target: HTMLElement, text: string): void {
  const html = marked.parse(text, { async: false, gfm: true, breaks: true });
  target.replaceChildren(purifier.sanitize(html, { ...OPTIONS, RETURN_DOM_FRAGMENT: true }));
}
