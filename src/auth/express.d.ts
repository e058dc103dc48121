import type { AuthenticatedUser } from '../context/user-context';

declare global {
  namespace Express {
    interface Request {
      user?: AuthenticatedUser;
    }
  }
}
export {};
