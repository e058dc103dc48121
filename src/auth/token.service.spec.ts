import { ConfigService } from '@nestjs/config';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from 'jose';
import type { CryptoKey } from 'jose';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { DomainError } from '../common/domain.error';
import { TokenService } from './token.service';

const SECRET = 'a-secret-for-the-token-tests-0123456789';
const now = () => Math.floor(Date.now() / 1000);

async function service(values: Record<string, unknown>): Promise<TokenService> {
  const config = {
    get: (key: string) =>
      ({ JWT_ALGORITHM: 'HS256', JWT_MAX_LIFETIME_SECONDS: 86_400, ...values })[key],
  } as unknown as ConfigService<never, true>;
  const tokens = new TokenService(config);
  await tokens.onModuleInit();
  return tokens;
}

async function refused(tokens: TokenService, token: string | undefined): Promise<void> {
  await expect(tokens.verify(token)).rejects.toEqual(expect.any(DomainError));
  await expect(tokens.verify(token)).rejects.toMatchObject({ code: 'unauthorized' });
}

function part(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

describe('TokenService', () => {
  describe('HS256', () => {
    const hs = (claims: Record<string, unknown>) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256' })
        .sign(new TextEncoder().encode(SECRET));

    it('takes a signed token with sub and exp, and says when it expires', async () => {
      const tokens = await service({ JWT_SECRET: SECRET });
      const exp = now() + 600;
      await expect(tokens.verify(await hs({ sub: 'ann', iat: now(), exp }))).resolves.toEqual({
        id: 'ann',
        expiresAt: exp * 1000,
      });
    });

    it('takes a token it verified before without checking it again, until it expires', async () => {
      const tokens = await service({ JWT_SECRET: SECRET });
      const exp = now() + 60;
      const token = await hs({ sub: 'ann', iat: now(), exp });
      const first = await tokens.verify(token);
      await expect(tokens.verify(token)).resolves.toEqual(first);
      // Each caller gets its own object.
      expect(await tokens.verify(token)).not.toBe(await tokens.verify(token));
      // The clock (Date, which jose reads too) past exp; timers left real.
      jest.useFakeTimers({
        now: (exp + 1) * 1000,
        doNotFake: ['nextTick', 'setImmediate', 'setTimeout', 'setInterval', 'queueMicrotask'],
      });
      try {
        await refused(tokens, token);
      } finally {
        jest.useRealTimers();
      }
    });

    it('does not take a tampered copy of a token it verified', async () => {
      const tokens = await service({ JWT_SECRET: SECRET });
      const token = await hs({ sub: 'ann', iat: now(), exp: now() + 60 });
      await tokens.verify(token);
      const [head, body, signature] = token.split('.');
      const forged = Buffer.from(JSON.stringify({ sub: 'root', iat: now(), exp: now() + 60 }));
      await refused(tokens, `${head}.${forged.toString('base64url')}.${signature}`);
      await refused(tokens, `${head}.${body}.${signature.slice(0, -2)}AA`);
    });

    it('signs tokens it accepts (development and tests)', async () => {
      const tokens = await service({ JWT_SECRET: SECRET });
      await expect(tokens.verify(await tokens.sign('bo', 60))).resolves.toMatchObject({ id: 'bo' });
    });

    it.each([
      ['no token', undefined],
      ['garbage', 'not-a-jwt'],
    ])('refuses %s', async (_label, token) => {
      await refused(await service({ JWT_SECRET: SECRET }), token);
    });

    it('refuses a token without exp, an expired one, and one without sub', async () => {
      const tokens = await service({ JWT_SECRET: SECRET });
      await refused(tokens, await hs({ sub: 'ann', iat: now() }));
      await refused(tokens, await hs({ sub: 'ann', iat: now() - 120, exp: now() - 60 }));
      await refused(tokens, await hs({ iat: now(), exp: now() + 60 }));
      // A sub no query could hold.
      await refused(tokens, await hs({ sub: 'a\u0000b', iat: now(), exp: now() + 60 }));
      await refused(tokens, await hs({ sub: '\ud800', iat: now(), exp: now() + 60 }));
      await refused(tokens, await hs({ sub: 'x'.repeat(201), iat: now(), exp: now() + 60 }));
    });

    it('refuses a token that lives longer than JWT_MAX_LIFETIME_SECONDS', async () => {
      const tokens = await service({ JWT_SECRET: SECRET, JWT_MAX_LIFETIME_SECONDS: 3600 });
      await refused(tokens, await hs({ sub: 'ann', iat: now(), exp: now() + 7200 }));
      await refused(tokens, await hs({ sub: 'ann', exp: now() + 7200 })); // no iat: from now
      // An iat in the future does not stretch it: ten years out, "issued" a minute before exp.
      const exp = now() + 10 * 365 * 86_400;
      await refused(tokens, await hs({ sub: 'ann', iat: exp - 60, exp }));
    });

    it('refuses another secret, a tampered payload and alg none', async () => {
      const tokens = await service({ JWT_SECRET: SECRET });
      const other = await new SignJWT({ sub: 'ann', exp: now() + 60 })
        .setProtectedHeader({ alg: 'HS256' })
        .sign(new TextEncoder().encode('another-secret-entirely-0123456789'));
      await refused(tokens, other);
      const [header, , signature] = (await hs({ sub: 'ann', exp: now() + 60 })).split('.');
      await refused(tokens, `${header}.${part({ sub: 'root', exp: now() + 60 })}.${signature}`);
      await refused(tokens, `${part({ alg: 'none' })}.${part({ sub: 'ann', exp: now() + 60 })}.`);
    });

    it('checks iss and aud when they are configured', async () => {
      const tokens = await service({
        JWT_SECRET: SECRET,
        JWT_ISSUER: 'https://issuer.test',
        JWT_AUDIENCE: 'netra',
      });
      const claims = { sub: 'ann', iat: now(), exp: now() + 60 };
      await expect(
        tokens.verify(await hs({ ...claims, iss: 'https://issuer.test', aud: 'netra' })),
      ).resolves.toMatchObject({ id: 'ann' });
      await refused(tokens, await hs({ ...claims, iss: 'https://evil.test', aud: 'netra' }));
      await refused(tokens, await hs({ ...claims, iss: 'https://issuer.test', aud: 'other' }));
      await refused(tokens, await hs(claims));
      // What it signs carries them.
      await expect(tokens.verify(await tokens.sign('cy'))).resolves.toMatchObject({ id: 'cy' });
    });
  });

  describe.each(['RS256', 'ES256', 'EdDSA'] as const)('%s with a public key', (alg) => {
    let privateKey: CryptoKey;
    let pem: string;
    beforeAll(async () => {
      const pair = await generateKeyPair(alg, { extractable: true });
      privateKey = pair.privateKey;
      pem = await exportSPKI(pair.publicKey);
    });

    it('takes a token signed with the private key, and refuses HS256 made with the public key', async () => {
      const tokens = await service({ JWT_ALGORITHM: alg, JWT_PUBLIC_KEY: pem });
      const good = await new SignJWT({ sub: 'dee', iat: now(), exp: now() + 60 })
        .setProtectedHeader({ alg })
        .sign(privateKey);
      await expect(tokens.verify(good)).resolves.toMatchObject({ id: 'dee' });
      // Algorithm confusion: the public key (which anyone has) used as an HMAC secret.
      const confused = await new SignJWT({ sub: 'dee', iat: now(), exp: now() + 60 })
        .setProtectedHeader({ alg: 'HS256' })
        .sign(new TextEncoder().encode(pem));
      await refused(tokens, confused);
      await expect(tokens.sign('dee')).rejects.toThrow(/only with JWT_ALGORITHM HS256/);
    });
  });

  describe('a JWKS URL', () => {
    let server: Server;
    let url: string;
    let fetches = 0;
    const keys: { kid: string; privateKey: CryptoKey; jwk: object }[] = [];
    const published: object[] = [];

    beforeAll(async () => {
      for (const kid of ['k1', 'k2']) {
        const pair = await generateKeyPair('ES256', { extractable: true });
        keys.push({
          kid,
          privateKey: pair.privateKey,
          jwk: { ...(await exportJWK(pair.publicKey)), kid, alg: 'ES256' },
        });
      }
      published.push(keys[0].jwk);
      server = createServer((_req, res) => {
        fetches += 1;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ keys: published }));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
    });
    afterAll(() => new Promise((resolve) => server.close(resolve)));

    const signed = (key: (typeof keys)[number]) =>
      new SignJWT({ sub: 'eve', iat: now(), exp: now() + 60 })
        .setProtectedHeader({ alg: 'ES256', kid: key.kid })
        .sign(key.privateKey);

    it('fetches the key set once, and again for a key it does not know', async () => {
      const tokens = await service({ JWT_ALGORITHM: 'ES256', JWT_JWKS_URL: url });
      await expect(tokens.verify(await signed(keys[0]))).resolves.toMatchObject({ id: 'eve' });
      await expect(tokens.verify(await signed(keys[0]))).resolves.toMatchObject({ id: 'eve' });
      expect(fetches).toBe(1);
      // The issuer rotates. Within jose's 30 s cooldown an unknown kid is refused without a fetch
      // (a flood of made-up kids cannot hammer the issuer); after it, the unknown kid makes it look again.
      published.push(keys[1].jwk);
      await refused(tokens, await signed(keys[1]));
      expect(fetches).toBe(1);
      const start = Date.now();
      const clock = jest.spyOn(Date, 'now').mockImplementation(() => start + 31_000);
      try {
        await expect(tokens.verify(await signed(keys[1]))).resolves.toMatchObject({ id: 'eve' });
        expect(fetches).toBe(2);
        await expect(tokens.verify(await signed(keys[0]))).resolves.toMatchObject({ id: 'eve' });
        expect(fetches).toBe(2);
      } finally {
        clock.mockRestore();
      }
    });
  });
});
