import { Injectable, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { createRemoteJWKSet, importSPKI, jwtVerify, SignJWT } from 'jose';
import type { JWTVerifyGetKey } from 'jose';
import { createSecretKey, KeyObject } from 'node:crypto';
import { DomainError } from '../common/domain.error';
import { storableText } from '../common/validation';
import { EnvironmentVariables, JwtAlgorithm } from '../config/env.validation';
import { AuthenticatedUser } from '../context/user-context';

const MAX_SUB_LENGTH = 200;
// Tokens already verified, by their exact text, until they expire: a client sends the same token
// with every request, and verifying it again (an HMAC or a signature check per request) was the
// largest single cost of a cheap read. Bounded; the oldest entries go first.
const VERIFIED_CACHE_SIZE = 10_000;

// Verifies the bearer tokens of every channel with jose: HS256 with a secret, or RS256/ES256/EdDSA
// with the issuer's public key or key set (fetched once, refreshed when a token names an unknown
// key), as configured. The algorithm is pinned, so `alg: none` and algorithm confusion (an HS256
// token "signed" with the public key) are refused; `exp` is required and bounded by
// JWT_MAX_LIFETIME_SECONDS; `iss` and `aud` are checked when configured. The user is the `sub`.
@Injectable()
export class TokenService implements OnModuleInit {
  private readonly algorithm: JwtAlgorithm;
  private readonly maxLifetime: number;
  // Made once: a key is parsed at start, not per request.
  private key?: KeyObject | Awaited<ReturnType<typeof importSPKI>> | JWTVerifyGetKey;
  private secret?: KeyObject;
  private readonly verified = new Map<string, AuthenticatedUser>();

  constructor(private readonly config: ConfigService<EnvironmentVariables, true>) {
    this.algorithm = config.get('JWT_ALGORITHM', { infer: true });
    this.maxLifetime = config.get('JWT_MAX_LIFETIME_SECONDS', { infer: true });
  }

  async onModuleInit(): Promise<void> {
    const secret = this.config.get('JWT_SECRET', { infer: true });
    const publicKey = this.config.get('JWT_PUBLIC_KEY', { infer: true });
    const jwks = this.config.get('JWT_JWKS_URL', { infer: true });
    if (this.algorithm === 'HS256') {
      this.secret = createSecretKey(Buffer.from(secret!, 'utf8'));
      this.key = this.secret;
    } else if (publicKey) {
      this.key = await importSPKI(publicKey, this.algorithm);
    } else {
      this.key = createRemoteJWKSet(new URL(jwks!));
    }
  }

  async verify(token: string | undefined): Promise<AuthenticatedUser> {
    if (!token) throw new DomainError('unauthorized', 'A bearer token is required');
    const known = this.verified.get(token);
    if (known && known.expiresAt! > Date.now()) return { ...known };
    if (known) this.verified.delete(token);
    const user = await this.verifyAnew(token);
    if (this.verified.size >= VERIFIED_CACHE_SIZE) {
      this.verified.delete(this.verified.keys().next().value!);
    }
    this.verified.set(token, user);
    return user;
  }

  private async verifyAnew(token: string): Promise<AuthenticatedUser> {
    try {
      const { payload } = await jwtVerify(token, this.key as KeyObject | JWTVerifyGetKey, {
        algorithms: [this.algorithm],
        issuer: this.config.get('JWT_ISSUER', { infer: true }),
        audience: this.config.get('JWT_AUDIENCE', { infer: true }),
        requiredClaims: ['exp', 'sub'],
      });
      const { sub, exp, iat } = payload;
      // The user id goes into every query: text the database can hold, of a bounded length.
      if (!sub || sub.length > MAX_SUB_LENGTH || !storableText(sub)) throw new Error('bad sub');
      // Counted from iat, or from now when iat is missing or in the future: a token cannot
      // stretch its life by claiming to be issued later.
      const now = Date.now() / 1000;
      const issued = typeof iat === 'number' ? Math.min(iat, now) : now;
      if (exp! - issued > this.maxLifetime) throw new Error('lives too long');
      return { id: sub, expiresAt: exp! * 1000 };
    } catch {
      throw new DomainError('unauthorized', 'The bearer token is invalid or expired');
    }
  }

  // Development and tests only: tokens of the configured HS256 secret.
  async sign(userId: string, expiresInSeconds = 12 * 3600): Promise<string> {
    if (!this.secret) throw new Error('tokens can be signed here only with JWT_ALGORITHM HS256');
    const jwt = new SignJWT({ sub: userId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuedAt()
      .setExpirationTime(`${expiresInSeconds}s`);
    const issuer = this.config.get('JWT_ISSUER', { infer: true });
    const audience = this.config.get('JWT_AUDIENCE', { infer: true });
    if (issuer) jwt.setIssuer(issuer);
    if (audience) jwt.setAudience(audience);
    return jwt.sign(this.secret);
  }
}

export function bearerToken(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const match = value?.match(/^Bearer\s+(\S+)$/i);
  return match?.[1];
}
