import { Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { REQUEST } from '@nestjs/core';
import { userContextsBuilt } from '../metrics/metrics';
import { PER_USER } from './per-user';

export interface AuthenticatedUser {
  id: string;
  // When the token stops being valid (ms since epoch); a long-lived socket checks it per frame.
  expiresAt?: number;
}

// What Nest hands a user's subtree as its REQUEST (UserContextStrategy's payload): the verified
// user's id, or none for the one subtree that requests without a verified user share.
export interface UserPayload {
  userId?: string;
}

// The user the shared services act for. Request-scoped and durable: Nest builds it, and the
// services that take it (MessageHandlerService, AgentService, ThreadService, ApprovalService,
// UsageService), once per verified user and hands the same instances to every request and frame of
// that user (UserContextStrategy picks the subtree), so no service can act as another user: the
// design's per-request dependency injection with per-user isolation, without building the graph
// for every request.
@Injectable(PER_USER)
export class UserContext {
  private readonly id?: string;

  constructor(@Inject(REQUEST) payload: UserPayload) {
    this.id = payload.userId;
    userContextsBuilt.inc();
  }

  // The subtree of requests without a verified user has none: the auth guard refuses them before a
  // handler runs, and a public route's handler reads no user.
  get userId(): string {
    if (!this.id) throw new UnauthorizedException('Not authenticated');
    return this.id;
  }
}
