// What a log line may show of a request's URL: the values of credential parameters (`token`,
// `ticket`, `access_token`, however their names are encoded) and anything shaped like a JWT,
// wherever it sits, are replaced. The authenticator decodes parameter names, so the redaction does
// too: `?%74oken=` is `?token=`.
const CREDENTIAL_PARAMS = /^(?:token|ticket|access_token|api_key)$/i;
const JWT_SHAPED = /eyJ[\w-]*\.[\w-]+\.[\w-]*/g;
export const REDACTED = '[Redacted]';

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
  return `${path}${rest.startsWith('?') ? `?${redacted}` : ''}`.replace(JWT_SHAPED, REDACTED);
}

function decoded(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
  }
}
