// Prints a bearer token for a user: `npm run token -- alice [hours]`. Uses JWT_SECRET, or the
// development secret the app keeps under .data/ when none is set (HS256 only: with an issuer's
// keys, tokens come from that issuer). JWT_ISSUER and JWT_AUDIENCE are put in when set.
import { SignJWT } from 'jose';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

function secret(): string {
  if (process.env.JWT_SECRET) return process.env.JWT_SECRET;
  const file = resolve(process.env.DATA_DIR ?? '.data', 'jwt-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  throw new Error(
    'No JWT_SECRET set and no .data/jwt-secret yet: set JWT_SECRET or start the app once',
  );
}

async function main(): Promise<void> {
  const [user, hours = '12'] = process.argv.slice(2);
  if (!user) throw new Error('usage: npm run token -- <user-id> [hours]');
  const jwt = new SignJWT({ sub: user })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt()
    .setExpirationTime(`${Number(hours) * 3600}s`);
  if (process.env.JWT_ISSUER) jwt.setIssuer(process.env.JWT_ISSUER);
  if (process.env.JWT_AUDIENCE) jwt.setAudience(process.env.JWT_AUDIENCE);
  console.log(await jwt.sign(new TextEncoder().encode(secret())));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
