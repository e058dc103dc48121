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

  // The user, from the first of `accepts` the request carries; a request that carries none is
  // refused as one without a bearer token.
  async authenticate(
    req: IncomingMessage,
    accepts: readonly Credentials[],
  ): Promise<AuthenticatedUser> {
    const found = await this.identify(req, accepts);
    return found?.user ?? this.tokens.verify(undefined);
  }

  // The user and the credential it came from, or null when the request carries none of `accepts`.
  // Throws when what it carries fails verification (a bad token, a used ticket). A ticket is used
  // up, unless `peek`: then only read (before routing, when whether the route takes tickets is not
  // known yet; redeemTicket() uses it up once it is).
  async identify(
    req: IncomingMessage,
    accepts: readonly Credentials[],
    peek = false,
  ): Promise<{ user: AuthenticatedUser; via: Credentials } | null> {
    const header = bearerToken(req.headers.authorization);
    if (header) return { user: await this.tokens.verify(header), via: 'header' };
    if (!req.url?.includes('?')) return null;
    const query = new URL(req.url, 'http://localhost').searchParams;
    const ticket = query.get('ticket');
    if (ticket !== null && accepts.includes('ticket')) {
      const user = await (peek ? this.tickets.holder(ticket) : this.tickets.redeem(ticket));
      if (!user) throw badTicket();
      return { user, via: 'ticket' };
    }
    const token = query.get('token');
    if (token !== null && accepts.includes('query-token'))
      return { user: await this.tokens.verify(token), via: 'query-token' };
    return null;
  }

  // Uses up the ticket a request was identified by with `peek`; it must still stand for `user`
  // (another request may have used it in between).
  async redeemTicket(req: IncomingMessage, user: AuthenticatedUser): Promise<void> {
    const found = await this.identify(req, ['ticket']);
    if (found?.user.id !== user.id) throw badTicket();
  }
}

function badTicket(): DomainError {
  return new DomainError('unauthorized', 'The stream ticket is invalid, used or expired');
}
