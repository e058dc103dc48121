import { Injectable, UnauthorizedException } from '@nestjs/common';
import { ClsService } from 'nestjs-cls';
import { requestIdOf } from '../common/request-id';

export interface AuthenticatedUser {
  id: string;
  // When the token stops being valid (ms since epoch); a long-lived socket checks it per frame.
  expiresAt?: number;
}

// What every channel puts in the piece of work's context: the request id, and the user (set by the
// auth guard on an HTTP request, by runAs() for a WebSocket frame or another channel).
export interface ContextCarrier {
  user?: AuthenticatedUser;
  id?: unknown;
}

// The key of the carrier in the continuation-local store (nestjs-cls).
export const CARRIER = 'netra.carrier';

// The user execution context of the piece of work in hand. Every service that reads or writes a
// user's data takes the user from here, so no request can act as another user. A singleton: the
// context lives in the async continuation (AsyncLocalStorage through nestjs-cls), so nothing is
// built per request; it was a request-scoped provider, and Nest rebuilt it and the five services
// depending on it for every request and frame.
@Injectable()
export class UserContext {
  constructor(private readonly cls: ClsService) {}

  // Read on use: the guard signs an HTTP request in after the context was entered.
  get userId(): string {
    return this.user.id;
  }

  get user(): AuthenticatedUser {
    const user = this.carrier()?.user;
    if (!user?.id) throw new UnauthorizedException('Not authenticated');
    return user;
  }

  get requestId(): string {
    return requestIdOf(this.carrier() ?? {});
  }

  // The HTTP request in hand is `user`'s (the auth guard, once it has authenticated it).
  signIn(user: AuthenticatedUser): void {
    const carrier = this.carrier();
    if (carrier) carrier.user = user;
  }

  // Runs `work` as `user`, in a context of its own: what a channel without an HTTP request (a
  // WebSocket frame, a protocol adapter) does before calling a service.
  runAs<T>(user: AuthenticatedUser, requestId: string, work: () => T): T {
    return this.cls.run({ ifNested: 'override' }, () => {
      this.cls.set<ContextCarrier>(CARRIER, { user, id: requestId });
      return work();
    });
  }

  private carrier(): ContextCarrier | undefined {
    return this.cls.isActive() ? this.cls.get<ContextCarrier>(CARRIER) : undefined;
  }
}
