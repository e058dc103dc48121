import { Api } from './api';
import { ChatPane } from './chat';
import { Connection, ConnectionState } from './connection';
import { byId, errorText } from './dom';
import { RunFeeds } from './run-feeds';
import {
  developmentToken,
  developmentTokensOffered,
  forgetToken,
  storedToken,
  storeToken,
  userOf,
} from './session';
import { threadInHash, ThreadList } from './thread-list';

// Why the last session ended, shown on the sign-in form after the reload that ends it.
const SIGNED_OUT_REASON = 'netra.signed-out';

function showSignIn(): void {
  byId('app').hidden = true;
  byId('sign-in').hidden = false;
  const error = byId('sign-in-error');
  error.textContent = sessionStorage.getItem(SIGNED_OUT_REASON) ?? '';
  sessionStorage.removeItem(SIGNED_OUT_REASON);
  const form = byId<HTMLFormElement>('sign-in-form');
  const input = byId<HTMLTextAreaElement>('token');
  const devButton = byId<HTMLButtonElement>('dev-token');
  input.focus();

  const signIn = async (token: string): Promise<void> => {
    // Checked before the page switches: a refused token stays on this form, with the reason.
    const res = await fetch('/api/threads?limit=1', {
      headers: { authorization: `Bearer ${token}` },
    });
    if (res.status === 401)
      throw new Error('This token was refused: it is invalid or has expired.');
    if (!res.ok) throw new Error(`The server answered ${res.status}; try again.`);
    storeToken(token);
    showApp(token);
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    error.textContent = '';
    signIn(input.value.trim()).catch((err: unknown) => (error.textContent = errorText(err)));
  });
  if (!developmentTokensOffered()) return;
  byId('dev-token-offer').hidden = false;
  devButton.addEventListener('click', () => {
    error.textContent = '';
    devButton.disabled = true;
    developmentToken()
      .then(signIn)
      .catch((err: unknown) => {
        error.textContent = errorText(err);
        devButton.disabled = false;
      });
  });
}

function showApp(token: string): void {
  byId('sign-in').hidden = true;
  byId('app').hidden = false;
  byId('user').textContent = `Signed in as ${userOf(token) ?? 'unknown user'}`;

  // Signing out ends everything the page holds: it reloads to the sign-in form.
  const signOut = (reason?: string) => {
    connection.stop();
    forgetToken();
    if (reason) sessionStorage.setItem(SIGNED_OUT_REASON, reason);
    location.replace(location.pathname);
  };
  const api = new Api(token, () =>
    signOut('Your token was refused or has expired. Sign in again.'),
  );
  const connectionLine = byId('connection');
  const connection: Connection = new Connection({
    ticket: () => api.ticket(),
    onEvent: (event) => feeds.accept(event),
    onOpen: (reconnected) => {
      if (reconnected) feeds.resumeAll();
    },
    onState: (state: ConnectionState, detail: string) => {
      connectionLine.dataset.state = state;
      connectionLine.textContent = detail;
    },
    onError: (message) => (byId('chat-error').textContent = message),
    onExpired: () => signOut('Your session has expired. Sign in again.'),
  });
  const feeds = new RunFeeds(connection);
  const threads = new ThreadList(api);
  const chat = new ChatPane({ api, connection, feeds, threads });

  byId('sign-out').addEventListener('click', () => signOut());
  // The skip link moves focus only: following its #message would close the open thread.
  document.querySelector('.skip-link')?.addEventListener('click', (e) => {
    e.preventDefault();
    byId('message').focus();
  });
  byId('new-thread').addEventListener('click', () => {
    closeThreadsOnPhone();
    byId('message').focus();
    chat.create().catch((err: unknown) => {
      byId('chat-error').textContent = `Could not create a thread: ${errorText(err)}`;
    });
  });

  // On a narrow screen the thread list is a panel that opens over the chat.
  const toggle = byId<HTMLButtonElement>('toggle-threads');
  const panel = byId('threads');
  const closeThreadsOnPhone = () => {
    toggle.setAttribute('aria-expanded', 'false');
    panel.classList.remove('open');
  };
  toggle.addEventListener('click', () => {
    const open = toggle.getAttribute('aria-expanded') !== 'true';
    toggle.setAttribute('aria-expanded', String(open));
    panel.classList.toggle('open', open);
    if (open) panel.querySelector<HTMLElement>('a, button')?.focus();
  });
  panel.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && panel.classList.contains('open')) {
      closeThreadsOnPhone();
      toggle.focus();
    }
  });

  const route = () => {
    const id = threadInHash();
    closeThreadsOnPhone();
    if (id !== chat.threadId) void chat.open(id);
  };
  window.addEventListener('hashchange', route);
  window.addEventListener('popstate', route);

  connection.start();
  const listed = threads.refresh().catch((err: unknown) => {
    byId('chat-error').textContent = `Could not list threads: ${errorText(err)}`;
  });
  void chat.start(listed, threadInHash());
}

const token = storedToken();
if (token) showApp(token);
else showSignIn();
