import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { DomainError } from '../common/domain.error';
import { AuthenticatedUser } from '../context/user-context';

// Verifies the HS256 bearer tokens of both channels; the user id is the `sub` claim.
@Injectable()
export class TokenService {
  constructor(private readonly jwt: JwtService) {}

  async verify(token: string | undefined): Promise<AuthenticatedUser> {
    if (!token) throw new DomainError('unauthorized', 'A bearer token is required');
    try {
      const claims = await this.jwt.verifyAsync<{ sub?: unknown; exp?: unknown }>(token, {
        algorithms: ['HS256'],
      });
      if (typeof claims.sub !== 'string' || claims.sub.length === 0 || claims.sub.length > 200) {
        throw new Error('bad sub');
      }
      return {
        id: claims.sub,
        expiresAt: typeof claims.exp === 'number' ? claims.exp * 1000 : undefined,
      };
    } catch {
      throw new DomainError('unauthorized', 'The bearer token is invalid or expired');
    }
  }

  sign(userId: string, expiresInSeconds = 12 * 3600): Promise<string> {
    return this.jwt.signAsync({ sub: userId }, { algorithm: 'HS256', expiresIn: expiresInSeconds });
  }
}

export function bearerToken(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const match = value?.match(/^Bearer\s+(\S+)$/i);
  return match?.[1];
}
