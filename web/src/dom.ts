// A few helpers to build elements without innerHTML: text is always set as text.

type Child = Node | string | null | undefined | false;
type Attributes = Record<string, string | boolean | undefined>;

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    node.setAttribute(name, value === true ? '' : value);
  }
  append(node, ...children);
  return node;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
  }
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`#${id} is missing from the page`);
  return node as T;
}

// Announced to screen readers without moving focus (a polite live region).
export function announce(text: string): void {
  const region = byId('announcer');
  region.textContent = '';
  // A change in a later task is announced even when the text repeats.
  setTimeout(() => (region.textContent = text), 50);
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2) ?? String(value);
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
