import { apiError } from './api';

// The token lives as long as the tab (sessionStorage): a reload keeps you signed in, closing the
// tab signs you out, and no other site or tab can read it.
const KEY = 'netra.token';

export function storedToken(): string | null {
  return sessionStorage.getItem(KEY);
}

export function storeToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(KEY);
}

// The user a token names (its `sub`), for display only: the server verifies the token.
export function userOf(token: string): string | null {
  try {
    const payload = token.split('.')[1];
    const text = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    const bytes = Uint8Array.from(text, (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes)) as { sub?: unknown } | null;
    return typeof claims?.sub === 'string' ? claims.sub : null;
  } catch {
    return null;
  }
}

// Whether this server hands this page a development token: the server says so in the page it
// serves (src/web/web.module.ts), so finding out costs no request, and a server without the route
// (production, a configured JWT_SECRET, another machine) never shows the button.
export function developmentTokensOffered(): boolean {
  const meta = document.querySelector<HTMLMetaElement>('meta[name="netra-development-tokens"]');
  return meta?.content === 'on';
}

// A development server (one signing with its own generated secret) hands out a token for dev-user;
// any other answers 404.
export async function developmentToken(): Promise<string> {
  const res = await fetch('/api/dev-token', { method: 'POST' });
  if (res.status === 404) {
    throw new Error(
      'This server does not hand out development tokens (it has a configured JWT secret, or you ' +
        'are not on the machine it runs on). Paste a token instead.',
    );
  }
  if (!res.ok) throw await apiError(res);
  return ((await res.json()) as { token: string }).token;
}
