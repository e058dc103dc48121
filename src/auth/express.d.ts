import type { AuthenticatedUser } from '../context/user-context';
import type { Credentials } from './authenticator';

declare global {
  namespace Express {
    interface Request {
      // Set by AuthenticateMiddleware, before routing, once the credentials are verified.
      user?: AuthenticatedUser;
      // What `user` came from; a route that does not take tickets refuses a ticket's user.
      credential?: Credentials;
      // Why the credentials the request carries were refused; JwtAuthGuard answers with it.
      authFailure?: Error;
    }
  }
}
export {};
