import { CanActivate, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { DomainError } from '../common/domain.error';
import { Authenticator } from './authenticator';
import { addLogFields } from '../logging/log-context';
import { IS_PUBLIC } from './public.decorator';

const ACCEPTS_TICKET = 'acceptsTicket';
// Marks a route an EventSource opens: it may authenticate with `?ticket=` instead of a header.
export const AcceptsTicket = () => SetMetadata(ACCEPTS_TICKET, true);

// Lets a request reach its handler only as a verified user (AuthenticateMiddleware verified its
// credentials before routing), except on public routes; a stream ticket counts only on the routes
// that take one, and is used up there.
@Injectable()
export class JwtAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: Authenticator,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const req = context.switchToHttp().getRequest<Request>();
    if (req.authFailure) throw req.authFailure;
    const byTicket = req.credential === 'ticket';
    const user = req.verifiedUser;
    if (!user || (byTicket && !this.reflector.getAllAndOverride(ACCEPTS_TICKET, targets)))
      throw new DomainError('unauthorized', 'A bearer token is required');
    if (byTicket) await this.authenticator.redeemTicket(req, user);
    req.user = user;
    addLogFields({ user_id: user.id });
    return true;
  }
}
