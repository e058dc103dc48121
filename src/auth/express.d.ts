import type { AuthenticatedUser } from '../context/user-context';
import type { Credentials } from './authenticator';

declare global {
  namespace Express {
    interface Request {
      // Set by JwtAuthGuard once it lets the request through as this user.
      user?: AuthenticatedUser;
      // Set by AuthenticateMiddleware, before routing, once the credentials are verified: whose
      // services serve the request (UserContextStrategy). The guard may still refuse it (a ticket
      // on a route that takes none).
      verifiedUser?: AuthenticatedUser;
      // What `verifiedUser` came from; a route that does not take tickets refuses a ticket's user.
      credential?: Credentials;
      // Why the credentials the request carries were refused; JwtAuthGuard answers with it.
      authFailure?: Error;
    }
  }
}
export {};
