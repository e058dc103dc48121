import { Api } from './api';
import { byId, errorText } from './dom';
import { ThreadList, UNTITLED } from './thread-list';
import { Thread } from './types';

// The open thread's title, with Rename (an inline form) and Delete (an inline confirmation: no
// browser dialog, so the keyboard and screen readers stay in the page).
export class ThreadHeader {
  private threadId: string | null = null;
  private readonly title = byId('thread-title');
  private readonly actions = byId('thread-actions');
  private readonly renameButton = byId<HTMLButtonElement>('rename-thread');
  private readonly renameForm = byId<HTMLFormElement>('rename-form');
  private readonly renameInput = byId<HTMLInputElement>('rename-input');
  private readonly deleteButton = byId<HTMLButtonElement>('delete-thread');
  private readonly confirm = byId('delete-confirm');
  private readonly error = byId('chat-error');

  constructor(
    private readonly api: Api,
    private readonly threads: ThreadList,
    private readonly onDeleted: (threadId: string) => void,
  ) {
    this.renameButton.addEventListener('click', () => this.startRename());
    this.renameForm.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.rename();
    });
    byId('rename-cancel').addEventListener('click', () => this.idle(this.renameButton));
    this.renameForm.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') this.idle(this.renameButton);
    });
    this.deleteButton.addEventListener('click', () => this.startDelete());
    byId('delete-yes').addEventListener('click', () => void this.remove());
    byId('delete-cancel').addEventListener('click', () => this.idle(this.deleteButton));
    this.confirm.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') this.idle(this.deleteButton);
    });
  }

  show(threadId: string | null): void {
    this.threadId = threadId;
    const thread = threadId ? this.threads.find(threadId) : undefined;
    this.title.textContent = threadId ? thread?.title || UNTITLED : 'New conversation';
    document.title = threadId ? `${this.title.textContent} · netra chat` : 'netra chat';
    this.idle();
  }

  update(thread: Thread): void {
    this.threads.upsert(thread);
    if (thread.id === this.threadId) this.show(thread.id);
  }

  private idle(focus?: HTMLElement): void {
    this.renameForm.hidden = true;
    this.confirm.hidden = true;
    this.actions.hidden = this.threadId === null;
    focus?.focus();
  }

  private startRename(): void {
    if (!this.threadId) return;
    this.actions.hidden = true;
    this.renameForm.hidden = false;
    this.renameInput.value = this.threads.find(this.threadId)?.title ?? '';
    this.renameInput.select();
    this.renameInput.focus();
  }

  private async rename(): Promise<void> {
    const id = this.threadId;
    const title = this.renameInput.value.trim();
    if (!id || !title) return;
    try {
      this.update(await this.api.renameThread(id, title));
      this.error.textContent = '';
      this.renameButton.focus();
    } catch (err) {
      this.error.textContent = `Could not rename the thread: ${errorText(err)}`;
    }
  }

  private startDelete(): void {
    if (!this.threadId) return;
    this.actions.hidden = true;
    this.confirm.hidden = false;
    byId('delete-cancel').focus();
  }

  private async remove(): Promise<void> {
    const id = this.threadId;
    if (!id) return;
    try {
      await this.api.deleteThread(id);
      this.error.textContent = '';
      this.threads.remove(id);
      this.onDeleted(id);
    } catch (err) {
      this.error.textContent = `Could not delete the thread: ${errorText(err)}`;
    }
  }
}
