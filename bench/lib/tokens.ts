import { SignJWT } from 'jose';

// The secret both sides verify with: HS256, as the product is configured here.
export const SECRET = 'bench-secret-0123456789abcdef0123456789';

// A token of the product's own secret, as `npm run token` makes it. With `id` (a `jti`) tokens of
// one user differ in their text, so neither side verifies one token once for many clients (the
// product caches verified tokens by their text).
export function signToken(sub: string, id?: string): Promise<string> {
  const jwt = new SignJWT(id === undefined ? { sub } : { sub, jti: id });
  return jwt
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(SECRET));
}

// One token per client, of `sub` (or of sub(i), a user per client), distinct by `prefix` and index.
export function signTokens(
  sub: string | ((i: number) => string),
  prefix: string,
  count: number,
): Promise<string[]> {
  const subOf = typeof sub === 'string' ? () => sub : sub;
  return Promise.all(
    Array.from({ length: count }, (_, i) => signToken(subOf(i), `${prefix}-${i}`)),
  );
}
