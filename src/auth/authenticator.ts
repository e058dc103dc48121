import { Injectable } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { DomainError } from '../common/domain.error';
import { AuthenticatedUser } from '../context/user-context';
import { StreamTicketStore } from './stream-ticket.store';
import { bearerToken, TokenService } from './token.service';

export type Credentials = 'header' | 'ticket' | 'query-token';

// Who a request is, from what it carries: the Authorization header (every channel), a stream
// ticket in `?ticket=` (the WebSocket and the SSE routes), or, for older browser clients of the
// WebSocket, the token itself in `?token=` (kept for compatibility; redacted in logs).
@Injectable()
export class Authenticator {
  constructor(
    private readonly tokens: TokenService,
    private readonly tickets: StreamTicketStore,
  ) {}

  async authenticate(
    req: IncomingMessage,
    accepts: readonly Credentials[],
  ): Promise<AuthenticatedUser> {
    const header = bearerToken(req.headers.authorization);
    if (header) return this.tokens.verify(header);
    const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
    const ticket = query.get('ticket');
    if (ticket !== null && accepts.includes('ticket')) {
      const user = await this.tickets.redeem(ticket);
      if (!user)
        throw new DomainError('unauthorized', 'The stream ticket is invalid, used or expired');
      return user;
    }
    const token = query.get('token');
    if (token !== null && accepts.includes('query-token')) return this.tokens.verify(token);
    return this.tokens.verify(undefined);
  }
}
