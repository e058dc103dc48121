// Prints a bearer token for a user: `npm run token -- alice [hours]`. Uses JWT_SECRET, or the
// development secret the app keeps under .data/ when none is set.
import { JwtService } from '@nestjs/jwt';
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
  const jwt = new JwtService({ secret: secret() });
  console.log(
    await jwt.signAsync({ sub: user }, { algorithm: 'HS256', expiresIn: Number(hours) * 3600 }),
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
