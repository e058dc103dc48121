import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { Authenticator } from './authenticator';

// Who the request is, before routing. Nest resolves a route's request-scoped controller, and with
// it the subtree of the verifying user's services (UserContextStrategy), before any guard runs, so
// the user must be verified by then. The outcome waits on the request: JwtAuthGuard, which knows
// the route (public, or open to a stream ticket), lets it through or refuses it. A request whose
// credentials fail verification has no user, so it is served by no user's subtree. A stream ticket
// is only read here: the guard uses it up on a route that takes tickets, and no other route does.
@Injectable()
export class AuthenticateMiddleware implements NestMiddleware {
  constructor(private readonly authenticator: Authenticator) {}

  async use(req: Request, _res: Response, next: NextFunction): Promise<void> {
    try {
      const found = await this.authenticator.identify(req, ['header', 'ticket'], true);
      if (found) {
        req.verifiedUser = found.user;
        req.credential = found.via;
      }
    } catch (err) {
      req.authFailure = err instanceof Error ? err : new Error(String(err));
    }
    next();
  }
}
