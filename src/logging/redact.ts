// What a log line may show of a request's URL: the values of credential parameters (`token`,
// `ticket`, `access_token`, however their names are encoded) and anything shaped like a JWT,
// wherever it sits, are replaced. The authenticator decodes parameter names, so the redaction does
// too: `?%74oken=` is `?token=`.
const CREDENTIAL_PARAMS = /^(?:token|ticket|access_token|api_key)$/i;
export const REDACTED = '[Redacted]';
// A URL is logged up to this length: the rest says how much was cut.
const MAX_LOGGED_URL = 2048;

export function redactUrl(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  const cut = url.search(/[?#]/);
  const path = cut < 0 ? url : url.slice(0, cut);
  const rest = cut < 0 ? '' : url.slice(cut);
  const query = rest.startsWith('?') ? rest.slice(1).split('#')[0] : '';
  const redacted = query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      return eq >= 0 && CREDENTIAL_PARAMS.test(decoded(name).trim()) ? `${name}=${REDACTED}` : pair;
    })
    .join('&');
  return withoutJwts(`${path}${rest.startsWith('?') ? `?${redacted}` : ''}`);
}

// Replaces every run of URL-safe text holding something shaped like a JWT (`eyJ…` then two dots).
// Done by splitting, not by one unanchored regex: that backtracks quadratically on a long run of
// `eyJeyJ…` with no dot, and this runs on every request, authenticated or not.
function withoutJwts(url: string): string {
  const bounded =
    url.length > MAX_LOGGED_URL
      ? `${url.slice(0, MAX_LOGGED_URL)}…[${url.length - MAX_LOGGED_URL} more]`
      : url;
  return bounded
    .split(/([^\w.-]+)/)
    .map((part) => (jwtShaped(part) ? REDACTED : part))
    .join('');
}

function jwtShaped(part: string): boolean {
  if (!part.includes('eyJ')) return false;
  const pieces = part.split('.');
  for (let i = 0; i + 2 < pieces.length; i++) {
    if (pieces[i].includes('eyJ') && pieces[i + 1].length > 0) return true;
  }
  return false;
}

function decoded(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
  }
}
