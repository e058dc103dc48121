import { Inject, Injectable, Scope, UnauthorizedException } from '@nestjs/common';
import { REQUEST } from '@nestjs/core';
import { requestIdOf } from '../common/request-id';

export interface AuthenticatedUser {
  id: string;
  // When the token stops being valid (ms since epoch); a long-lived socket checks it per frame.
  expiresAt?: number;
}

// What both channels put behind REQUEST: an Express request (after the auth guard) or, for a
// WebSocket frame, a small object the gateway registers under its own context id.
export interface ContextCarrier {
  user?: AuthenticatedUser;
  id?: unknown;
}

// The per-request user execution context. Every service that reads or writes a user's data takes
// the user from here, so no request can act as another user.
@Injectable({ scope: Scope.REQUEST })
export class UserContext {
  constructor(@Inject(REQUEST) private readonly carrier: ContextCarrier) {}

  // Read lazily: Nest builds request-scoped instances before guards run, and the guard is what sets
  // `user` on an HTTP request.
  get userId(): string {
    return this.user.id;
  }

  get user(): AuthenticatedUser {
    const user = this.carrier.user;
    if (!user?.id) throw new UnauthorizedException('Not authenticated');
    return user;
  }

  get requestId(): string {
    return requestIdOf(this.carrier);
  }
}
