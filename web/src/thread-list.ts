import { Api } from './api';
import { byId, el } from './dom';
import { Thread } from './types';

export const UNTITLED = 'Untitled thread';

export function threadHash(id: string): string {
  return `#thread=${encodeURIComponent(id)}`;
}

// The open thread is in the URL (#thread=<id>): a reload, the back button and a bookmark keep it.
export function threadInHash(): string | null {
  const match = /^#thread=([^&]+)$/.exec(location.hash);
  return match ? decodeURIComponent(match[1]) : null;
}

// The user's threads, newest first, as links (keyboard and screen readers know what to do with
// them); the open one is marked aria-current.
export class ThreadList {
  private threads: Thread[] = [];
  private selected: string | null = null;
  private readonly list = byId<HTMLUListElement>('thread-list');
  private readonly empty = byId('threads-empty');

  constructor(private readonly api: Api) {}

  find(id: string): Thread | undefined {
    return this.threads.find((t) => t.id === id);
  }

  async refresh(): Promise<void> {
    this.threads = (await this.api.listThreads()).items;
    this.render();
  }

  select(id: string | null): void {
    this.selected = id;
    this.render();
  }

  // A thread changed here (renamed, created): shown at once, without waiting for a refresh.
  upsert(thread: Thread): void {
    const index = this.threads.findIndex((t) => t.id === thread.id);
    if (index >= 0) this.threads[index] = thread;
    else this.threads.unshift(thread);
    this.render();
  }

  remove(id: string): void {
    this.threads = this.threads.filter((t) => t.id !== id);
    this.render();
  }

  private render(): void {
    this.list.replaceChildren(
      ...this.threads.map((thread) =>
        el(
          'li',
          {},
          el(
            'a',
            {
              href: threadHash(thread.id),
              'aria-current': thread.id === this.selected ? 'page' : undefined,
              'data-thread-id': thread.id,
            },
            el('span', { class: 'thread-title' }, thread.title || UNTITLED),
            el(
              'time',
              { datetime: thread.updated_at, class: 'muted' },
              new Date(thread.updated_at).toLocaleString(undefined, {
                dateStyle: 'medium',
                timeStyle: 'short',
              }),
            ),
          ),
        ),
      ),
    );
    this.empty.hidden = this.threads.length > 0;
  }
}
