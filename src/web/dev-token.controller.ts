import { Controller, HttpCode, NotFoundException, Post, Req } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request } from 'express';
import { Public } from '../auth/public.decorator';
import { TokenService } from '../auth/token.service';

export const DEV_USER = 'dev-user';
const DEV_TOKEN_SECONDS = 12 * 3600;

export interface DevTokenView {
  token: string;
  user_id: string;
  expires_in: number;
}

// The chat's "Use development token": the token `npm start` prints, one click away. Registered only
// while the app signs with its own generated development secret (WebModule.forRoot), so it does not
// exist in production or wherever JWT_SECRET is configured. Left out of the OpenAPI document: the
// document describes the API every deployment has, and it is generated (openapi.json, the drift,
// ownership and property tests) from an app with a configured secret, where this route is absent.
@ApiExcludeController()
@Public()
@Controller('dev-token')
export class DevTokenController {
  constructor(private readonly tokens: TokenService) {}

  @Post()
  @HttpCode(201)
  async create(@Req() req: Request): Promise<DevTokenView> {
    if (!servesDevelopmentTokenTo(req)) throw new NotFoundException();
    const token = await this.tokens.sign(DEV_USER, DEV_TOKEN_SECONDS);
    return { token, user_id: DEV_USER, expires_in: DEV_TOKEN_SECONDS };
  }
}

// A development server listens on every interface: it hands tokens only to the machine it runs
// on, not to whoever shares its network (they can still paste the printed token). And only to a
// page the browser loaded from this machine by its local name: a site that rebinds its own name to
// 127.0.0.1 arrives with that name in Host. The chat page shows its button by the same rule
// (WebModule), so the button is there exactly where the route answers.
export function servesDevelopmentTokenTo(req: Request): boolean {
  return isLoopback(req.socket.remoteAddress) && isLocalHost(req.headers.host);
}

export function isLoopback(address: string | undefined): boolean {
  return (
    address !== undefined &&
    (address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.'))
  );
}

// localhost, 127.x.x.x or [::1], with any port.
export function isLocalHost(host: string | undefined): boolean {
  if (!host) return false;
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0];
  return name === 'localhost' || name === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}
