import { ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { ThrottlerGuard, ThrottlerLimitDetail } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import { DomainError } from '../common/domain.error';

const STARTS_RUN = 'startsRun';
// Marks a route that starts a run: it counts against the user's run starts.
export const StartsRun = () => SetMetadata(STARTS_RUN, true);

export function startsRun(context: ExecutionContext): boolean {
  return Reflect.getMetadata(STARTS_RUN, context.getHandler()) === true;
}

// @nestjs/throttler's guard, counting per user (the token's subject; the address for the public
// routes) across all routes, with one Retry-After header and the API's own error shape.
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  protected override getTracker(req: Request): Promise<string> {
    return Promise.resolve(req.user?.id ? `user:${req.user.id}` : `ip:${req.ip}`);
  }

  protected override generateKey(_context: ExecutionContext, tracker: string, name: string) {
    return `${name}:${tracker}`;
  }

  protected override throwThrottlingException(
    context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    context
      .switchToHttp()
      .getResponse<Response>()
      .setHeader('Retry-After', String(detail.timeToBlockExpire));
    throw rateLimited(
      detail.timeToBlockExpire * 1000,
      startsRun(context) ? 'run starts' : 'requests',
    );
  }
}

export function rateLimited(retryAfterMs: number, what: string): DomainError {
  return new DomainError(
    'rate_limited',
    `Too many ${what}; try again in ${Math.ceil(retryAfterMs / 1000)} s`,
    { retry_after_ms: retryAfterMs },
  );
}
