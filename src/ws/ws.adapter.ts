import { INestApplicationContext, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { WsAdapter } from '@nestjs/platform-ws';
import type { IncomingMessage } from 'node:http';
import type { WebSocket, WebSocketServer } from 'ws';
import { EnvironmentVariables } from '../config/env.validation';
import { redactUrl } from '../logging/redact';
import { VerifiedRequest } from '../context/user-context.strategy';
import { HANDSHAKE_USER, HandshakeRequest, WsHandshake } from './ws-handshake';

const logger = new Logger('WebSocket');

type VerifyCallback = (
  result: boolean,
  code?: number,
  message?: string,
  headers?: Record<string, string>,
) => void;

// The platform's adapter, with the handshake checked before the upgrade (ws's verifyClient) and
// the frame size from the configuration. Frames are read by the gateway itself (one queue per
// socket, its own parser and errors), so the platform's per-socket message pipeline is not bound.
export class GatewayWsAdapter extends WsAdapter {
  constructor(private readonly app: INestApplicationContext) {
    super(app);
  }

  override create(port: number, options: Record<string, unknown> = {}): WebSocketServer {
    const handshake = this.app.get(WsHandshake);
    const config = this.app.get(ConfigService<EnvironmentVariables, true>);
    return super.create(port, {
      ...options,
      maxPayload: config.get('WS_MAX_FRAME_BYTES', { infer: true }),
      verifyClient: (
        info: { origin?: string; req: IncomingMessage },
        done: VerifyCallback,
      ): void => {
        handshake.admit(info.req, info.origin || undefined).then(
          (refusal) => {
            if (!refusal) return done(true);
            logger.debug(
              `handshake refused with ${refusal.status} (${refusal.message}): ${redactUrl(info.req.url)}`,
            );
            done(false, refusal.status, refusal.message, refusal.headers);
          },
          (err: unknown) => {
            logger.error(`handshake failed: ${String(err)}`);
            done(false, 500, 'Internal error');
          },
        );
      },
    }) as WebSocketServer;
  }

  // The socket carries its verified user before Nest resolves the gateway for it: the request-
  // scoped gateway is picked by UserContextStrategy, which reads `verifiedUser` off the socket.
  override bindClientConnect(
    server: WebSocketServer,
    callback: (socket: WebSocket, request: HandshakeRequest) => void,
  ): void {
    server.on('connection', (socket: WebSocket & VerifiedRequest, request: HandshakeRequest) => {
      socket.verifiedUser = request[HANDSHAKE_USER];
      callback(socket, request);
    });
  }

  // The platform binds @SubscribeMessage handlers here: per socket, an RxJS pipeline (fromEvent,
  // share, first, mergeMap, takeUntil: about 30 closures, most of a socket's heap) that parses
  // every frame a second time and, our frames having no `event` field, throws and catches a
  // TypeError for each. The gateway has no such handlers.
  override bindMessageHandlers(): void {}
}
