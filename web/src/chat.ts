import { Api, ApiError } from './api';
import { answerBubble, endedNote, setNote, userBubble } from './bubbles';
import { Connection, Disconnected } from './connection';
import { announce, byId, el, errorText } from './dom';
import { RunFeeds } from './run-feeds';
import { RunView, RunViewActions } from './run-view';
import { ThreadHeader } from './thread-header';
import { threadHash, ThreadList } from './thread-list';
import { ACTIVE_STATUSES, Message, RunEvent, RunStarted, RunStatus } from './types';

const TITLE_LENGTH = 60;
// A start lost with its socket is asked again with the same idempotency key: at most this often.
const START_ATTEMPTS = 3;

export interface ChatDeps {
  api: Api;
  connection: Connection;
  feeds: RunFeeds;
  threads: ThreadList;
}

// The conversation of the open thread: its history, the runs in progress streaming in, the
// composer (Send, Stop). Messages go over the WebSocket; the history is read over REST.
export class ChatPane {
  private openId: string | null = null;
  // The open thread has no title and no message yet: its first message names it.
  private untitled = true;
  private opening = 0;
  // A thread being created or loaded: a message sent meanwhile waits for it, then goes to it.
  private busy: Promise<void> | null = null;
  private readonly views = new Map<string, RunView>();
  private readonly header: ThreadHeader;
  private readonly transcript = byId('transcript');
  private readonly message = byId<HTMLTextAreaElement>('message');
  private readonly stopButton = byId<HTMLButtonElement>('stop');
  private readonly error = byId('chat-error');
  private readonly actions: RunViewActions;

  constructor(private readonly deps: ChatDeps) {
    this.header = new ThreadHeader(deps.api, deps.threads, (threadId) => {
      deps.feeds.forgetThread(threadId);
      history.pushState(null, '', location.pathname);
      void this.open(null);
    });
    this.actions = {
      decide: async (runId, interruptId, decision) => {
        await deps.connection.request('approve_tool', {
          run_id: runId,
          interrupt_id: interruptId,
          decision,
        });
      },
      usage: async (runId) => (await deps.api.runStatus(runId)).usage,
    };
    byId<HTMLFormElement>('composer').addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit();
    });
    this.message.addEventListener('keydown', (e) => {
      // Enter sends, Shift+Enter is a new line; not while an input method composes a character.
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.submit();
      }
    });
    this.stopButton.addEventListener('click', () => this.stop());
    deps.feeds.onEvent((record, event) => {
      const view = this.views.get(record.runId);
      if (!view) return;
      const pinned = this.atBottom();
      view.apply(event);
      this.announceEvent(event);
      this.updateStop();
      if (pinned) this.scrollDown();
    });
  }

  get threadId(): string | null {
    return this.openId;
  }

  async open(threadId: string | null): Promise<void> {
    const opening = ++this.opening;
    this.openId = threadId;
    this.views.clear();
    this.error.textContent = '';
    this.deps.threads.select(threadId);
    this.header.show(threadId);
    this.updateStop();
    if (!threadId) {
      this.untitled = true;
      this.transcript.replaceChildren(
        el(
          'p',
          { class: 'muted empty' },
          'Ask something below: your first message starts a new thread.',
        ),
      );
      return;
    }
    this.transcript.replaceChildren(el('p', { class: 'muted empty' }, 'Loading…'));
    await this.whileBusy(this.load(threadId, opening));
  }

  // The page's first thread, once the list is there (for its title). A message sent before then
  // waits for it, so the first render cannot wipe it.
  start(listed: Promise<void>, threadId: string | null): Promise<void> {
    // Not if another thread was opened meanwhile (a click on the list).
    return this.whileBusy(
      listed.then(() => (this.opening === 0 ? this.open(threadId) : undefined)),
    );
  }

  // New thread: created, then opened.
  async create(): Promise<void> {
    await this.whileBusy(
      (async () => {
        const thread = await this.deps.api.createThread();
        this.deps.threads.upsert(thread);
        history.pushState(null, '', threadHash(thread.id));
        await this.open(thread.id);
      })(),
    );
  }

  private whileBusy(work: Promise<void>): Promise<void> {
    const tracked: Promise<void> = work.finally(() => {
      if (this.busy === tracked) this.busy = null;
    });
    this.busy = tracked;
    return tracked;
  }

  private async load(threadId: string, opening: number): Promise<void> {
    try {
      const [messages, runs] = await Promise.all([
        this.deps.api.messages(threadId),
        this.deps.api.runs(threadId),
      ]);
      if (opening !== this.opening) return; // another thread was opened meanwhile
      this.untitled = messages.total === 0 && !this.deps.threads.find(threadId)?.title;
      this.renderHistory(threadId, messages.items, runs.items);
    } catch (err) {
      if (opening !== this.opening) return;
      const gone = err instanceof ApiError && err.status === 404;
      this.transcript.replaceChildren(
        el('p', { class: 'muted empty' }, gone ? 'This thread does not exist (any more).' : ''),
      );
      if (!gone) this.error.textContent = `Could not load the thread: ${errorText(err)}`;
    }
    this.updateStop();
    this.scrollDown();
  }

  // The messages, and in place of an answer each run still in progress (or seen live here), from
  // its events: a reopened thread shows a run waiting for approval with its Approve and Reject.
  private renderHistory(threadId: string, messages: Message[], runs: RunStatus[]): void {
    const byRun = new Map(runs.map((run) => [run.run_id, run]));
    const live = new Set<string>();
    const nodes: HTMLElement[] = [];
    for (const message of messages) {
      const run = message.run_id ? byRun.get(message.run_id) : undefined;
      if (message.role === 'user') {
        nodes.push(userBubble(message.content));
        if (!run) continue;
        if (ACTIVE_STATUSES.includes(run.status) || this.deps.feeds.get(run.run_id)) {
          const view = this.liveView(run.run_id, threadId);
          if (run.status === 'queued') view.queued();
          nodes.push(view.element);
          live.add(run.run_id);
        } else if (run.status === 'cancelled' || run.status === 'failed') {
          nodes.push(endedNote(run));
        }
      } else if (!message.run_id || !live.has(message.run_id)) {
        nodes.push(answerBubble(message.content, run?.usage));
      }
    }
    if (nodes.length === 0) {
      nodes.push(el('p', { class: 'muted empty' }, 'No messages yet. Say something below.'));
    }
    this.transcript.replaceChildren(...nodes);
  }

  // A view of the run, with what the page has of it so far; followed from there.
  private liveView(runId: string, threadId: string): RunView {
    const view = new RunView(runId, this.actions);
    this.views.set(runId, view);
    const record = this.deps.feeds.get(runId) ?? this.deps.feeds.follow(runId, threadId);
    for (const event of record.events) view.apply(event);
    return view;
  }

  private submit(): void {
    const text = this.message.value.trim();
    if (!text) return;
    this.message.value = '';
    void this.send(text);
  }

  // The message shows at once; its run appears under it when the server has taken it.
  private async send(text: string): Promise<void> {
    while (this.busy) await this.busy.catch(() => undefined);
    const threadId = this.openId;
    this.transcript.querySelector('.empty')?.remove();
    const bubble = userBubble(text, 'Sending…');
    this.transcript.append(bubble);
    this.scrollDown();
    const key = idempotencyKey();
    let started: RunStarted;
    try {
      started = await this.startRun(threadId, text, key);
    } catch (err) {
      setNote(bubble, `Not sent: ${errorText(err)}`, true);
      return;
    }
    setNote(bubble, null);
    this.deps.feeds.track(started.run_id, started.thread_id);
    if (this.openId !== threadId) return; // another thread was opened meanwhile; the run goes on
    if (!threadId) {
      this.openId = started.thread_id;
      history.pushState(null, '', threadHash(started.thread_id));
      this.deps.threads.select(started.thread_id);
      this.header.show(started.thread_id);
    }
    const view = this.liveView(started.run_id, started.thread_id);
    if (started.status === 'queued') view.queued();
    bubble.after(view.element);
    this.updateStop();
    this.scrollDown();
    if (this.untitled) {
      this.untitled = false;
      void this.name(started.thread_id, text);
    } else {
      void this.deps.threads.refresh().catch(() => undefined);
    }
  }

  private async startRun(threadId: string | null, text: string, key: string): Promise<RunStarted> {
    for (let attempt = 1; ; attempt++) {
      try {
        return threadId
          ? await this.deps.connection.request<RunStarted>('user_message', {
              thread_id: threadId,
              message: text,
              idempotency_key: key,
            })
          : await this.deps.connection.request<RunStarted>('start_agent', {
              query: text,
              idempotency_key: key,
            });
      } catch (err) {
        // Lost with the socket, perhaps after the server took it: the same key asks again safely.
        if (!(err instanceof Disconnected) || attempt >= START_ATTEMPTS) throw err;
      }
    }
  }

  // A new thread is named after its first message.
  private async name(threadId: string, text: string): Promise<void> {
    const title = text.length > TITLE_LENGTH ? `${text.slice(0, TITLE_LENGTH - 1)}…` : text;
    try {
      this.header.update(await this.deps.api.renameThread(threadId, title.replace(/\s+/g, ' ')));
    } catch {
      // Untitled is fine.
    }
    await this.deps.threads.refresh().catch(() => undefined);
  }

  // Stops every run of the open thread still in progress (or queued).
  private stop(): void {
    if (!this.openId) return;
    for (const record of this.deps.feeds.active(this.openId)) {
      this.deps.connection.request('stop_agent', { run_id: record.runId }).catch((err: unknown) => {
        this.error.textContent = `Could not stop the run: ${errorText(err)}`;
      });
    }
    this.message.focus();
  }

  private updateStop(): void {
    const active = this.openId ? this.deps.feeds.active(this.openId).length > 0 : false;
    if (this.stopButton.hidden === active) this.stopButton.hidden = !active;
  }

  // Told to screen readers without moving their focus (only for the open thread's runs).
  private announceEvent(event: RunEvent): void {
    switch (event.type) {
      case 'approval_required':
        announce(`${String(event.data.tool)} needs your approval`);
        break;
      case 'agent_completed':
        announce('The answer is complete');
        break;
      case 'agent_cancelled':
        announce('The run was stopped');
        break;
      case 'agent_error':
        announce('The run failed');
        break;
      default:
        break;
    }
  }

  private atBottom(): boolean {
    const t = this.transcript;
    return t.scrollHeight - t.scrollTop - t.clientHeight < 80;
  }

  private scrollDown(): void {
    this.transcript.scrollTop = this.transcript.scrollHeight;
  }
}

// Random enough to be unique; crypto.randomUUID needs a secure context, which a development server
// reached over the local network is not.
function idempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `chat-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}
