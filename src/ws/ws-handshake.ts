import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { IncomingMessage } from 'node:http';
import { Authenticator } from '../auth/authenticator';
import { OriginPolicy } from '../auth/origins';
import { MAX_QUERY_BYTES } from '../common/limits';
import { EnvironmentVariables } from '../config/env.validation';
import { AuthenticatedUser } from '../context/user-context';
import { WsConnections } from './ws-connections';

// Where the handshake leaves the socket's user for the gateway.
export const HANDSHAKE_USER = Symbol('handshake user');
export type HandshakeRequest = IncomingMessage & { [HANDSHAKE_USER]?: AuthenticatedUser };

export interface Refusal {
  status: 401 | 403 | 414 | 429;
  message: string;
  headers?: Record<string, string>;
}

// Checks a WebSocket handshake before the upgrade: a refused one gets an HTTP answer and never a
// socket. The Origin must be allowed (a page on another site cannot use a user's token), the
// credentials valid (header, ticket, or the legacy ?token=), and the user under their socket cap.
@Injectable()
export class WsHandshake {
  private readonly maxSockets: number;

  constructor(
    private readonly origins: OriginPolicy,
    private readonly authenticator: Authenticator,
    private readonly connections: WsConnections,
    config: ConfigService<EnvironmentVariables, true>,
  ) {
    this.maxSockets = config.get('MAX_SOCKETS_PER_USER', { infer: true });
  }

  async admit(req: HandshakeRequest, origin: string | undefined): Promise<Refusal | null> {
    // The REST bound on query strings, which Express applies there; upgrades do not pass it.
    const url = req.url ?? '';
    const query = url.indexOf('?');
    if (query >= 0 && url.length - query > MAX_QUERY_BYTES) {
      return { status: 414, message: 'URI Too Long' };
    }
    if (!this.origins.allows(origin, req.headers.host)) {
      return { status: 403, message: 'Origin not allowed' };
    }
    let user: AuthenticatedUser;
    try {
      user = await this.authenticator.authenticate(req, ['header', 'ticket', 'query-token']);
    } catch {
      return { status: 401, message: 'Unauthorized' };
    }
    if (this.connections.count(user.id) >= this.maxSockets) {
      return { status: 429, message: 'Too many open sockets', headers: { 'Retry-After': '5' } };
    }
    req[HANDSHAKE_USER] = user;
    return null;
  }
}
