import { CanActivate, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { Authenticator, Credentials } from './authenticator';
import { UserContext } from '../context/user-context';
import { addLogFields } from '../logging/log-context';
import { IS_PUBLIC } from './public.decorator';

const ACCEPTS_TICKET = 'acceptsTicket';
// Marks a route an EventSource opens: it may authenticate with `?ticket=` instead of a header.
export const AcceptsTicket = () => SetMetadata(ACCEPTS_TICKET, true);

@Injectable()
export class JwtAuthGuard implements CanActivate {
  constructor(
    private readonly authenticator: Authenticator,
    private readonly reflector: Reflector,
    private readonly context: UserContext,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const accepts: Credentials[] = this.reflector.getAllAndOverride<boolean>(
      ACCEPTS_TICKET,
      targets,
    )
      ? ['header', 'ticket']
      : ['header'];
    const req = context.switchToHttp().getRequest<Request>();
    req.user = await this.authenticator.authenticate(req, accepts);
    this.context.signIn(req.user);
    addLogFields({ user_id: req.user.id });
    return true;
  }
}
