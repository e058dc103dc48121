import { ErrorBody, Message, Page, RunStatus, Thread } from './types';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const PAGE_MAX = 100;

// The REST calls of the chat, with the signed-in user's token in the Authorization header (never
// in a URL). A refused token (401) signs the page out through `onUnauthorized`.
export class Api {
  constructor(
    private readonly token: string,
    private readonly onUnauthorized: () => void,
  ) {}

  listThreads(): Promise<Page<Thread>> {
    return this.request('GET', `/api/threads?limit=${PAGE_MAX}`);
  }

  createThread(): Promise<Thread> {
    return this.request('POST', '/api/threads', {});
  }

  renameThread(id: string, title: string): Promise<Thread> {
    return this.request('PATCH', `/api/threads/${encodeURIComponent(id)}`, { title });
  }

  deleteThread(id: string): Promise<void> {
    return this.request('DELETE', `/api/threads/${encodeURIComponent(id)}`);
  }

  // The newest messages (up to a page), oldest first.
  async messages(threadId: string): Promise<Page<Message>> {
    const path = `/api/threads/${encodeURIComponent(threadId)}/messages?limit=${PAGE_MAX}`;
    const first = await this.request<Page<Message>>('GET', path);
    if (first.total <= first.items.length) return first;
    return this.request('GET', `${path}&offset=${first.total - PAGE_MAX}`);
  }

  // The newest runs of the thread, newest first.
  runs(threadId: string): Promise<Page<RunStatus>> {
    return this.request(
      'GET',
      `/api/threads/${encodeURIComponent(threadId)}/runs?limit=${PAGE_MAX}`,
    );
  }

  runStatus(runId: string): Promise<RunStatus> {
    return this.request('GET', `/api/agent/${encodeURIComponent(runId)}/status`);
  }

  // A single-use ticket for the WebSocket URL.
  async ticket(): Promise<string> {
    return (await this.request<{ ticket: string }>('POST', '/api/stream-tickets')).ticket;
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status === 401) this.onUnauthorized();
    if (!res.ok) throw await apiError(res);
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  }
}

export async function apiError(res: Response): Promise<ApiError> {
  let body: ErrorBody = {};
  try {
    body = (await res.json()) as ErrorBody;
  } catch {
    // Not JSON (a proxy's page): the status says enough.
  }
  return new ApiError(
    res.status,
    body.code ?? `http_${res.status}`,
    body.message ?? `${res.status} ${res.statusText}`,
  );
}
