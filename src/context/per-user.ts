import { ScopeOptions, Scope } from '@nestjs/common';

// The scope of the shared services that act for a user: request-scoped and durable, so Nest keeps
// one instance per verified user (UserContextStrategy) and every request and frame of that user,
// on every channel, is served by it.
export const PER_USER: ScopeOptions = { scope: Scope.REQUEST, durable: true };
