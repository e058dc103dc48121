import { ContextId, ContextIdFactory, ContextIdResolver, ContextIdStrategy } from '@nestjs/core';
import { LRUCache } from 'lru-cache';
import { userContextsHeld } from '../metrics/metrics';
import { AuthenticatedUser, UserPayload } from './user-context';

// What the strategy reads: an HTTP request after the authenticating middleware, or the small
// carrier the WebSocket gateway makes for a socket's frames. Set only once verified.
export interface VerifiedRequest {
  verifiedUser?: AuthenticatedUser;
}

// Picks the subtree of durable request-scoped services a request or frame is served by: one per
// verified user, the same for all of that user's requests and frames on every channel. At most
// `max` users' subtrees are held (least recently used let go first); a context id is only a key of
// the WeakMaps where Nest keeps per-context instances, so a user let go has its subtree collected
// once its requests in flight end, and its next request builds a new one. A request without a
// verified user (none sent, or a token that failed verification) gets the one shared anonymous
// subtree, whose UserContext has no user: nothing is built for it, however many arrive.
export class UserContextStrategy implements ContextIdStrategy {
  private readonly anonymous = ContextIdFactory.create();
  private readonly users: LRUCache<string, ContextId>;

  constructor(max: number) {
    this.users = new LRUCache<string, ContextId>({
      max,
      dispose: () => userContextsHeld.set(this.users.size),
    });
  }

  attach(contextId: ContextId, request: VerifiedRequest): ContextIdResolver {
    const userId = request.verifiedUser?.id;
    const durable = userId ? this.contextOf(userId) : this.anonymous;
    const payload: UserPayload = { userId };
    return {
      // Providers that are not durable (none of the shared services) stay per request.
      resolve: (info) => (info.isTreeDurable ? durable : contextId),
      payload,
    };
  }

  // How many users' subtrees are held (for the tests and the gauge).
  get held(): number {
    return this.users.size;
  }

  private contextOf(userId: string): ContextId {
    let id = this.users.get(userId);
    if (!id) {
      id = ContextIdFactory.create();
      this.users.set(userId, id);
      userContextsHeld.set(this.users.size);
    }
    return id;
  }
}
