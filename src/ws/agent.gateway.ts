import { BeforeApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ContextIdFactory, ModuleRef } from '@nestjs/core';
import {
  OnGatewayConnection,
  OnGatewayDisconnect,
  OnGatewayInit,
  WebSocketGateway,
} from '@nestjs/websockets';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { RawData, WebSocket } from 'ws';
import { bearerToken, TokenService } from '../auth/token.service';
import { DomainError, FieldError } from '../common/domain.error';
import { toErrorPayload } from '../common/error-response';
import { MAX_BODY_BYTES } from '../common/limits';
import { validatePayload } from '../common/validation';
import { EnvironmentVariables } from '../config/env.validation';
import { ContextCarrier } from '../context/user-context';
import { WS_OPERATIONS } from './ws-operations';
import { WsSession } from './ws-session';

export const WS_PATH = '/ws';
const UNAUTHORIZED_CLOSE = 4401;
const GOING_AWAY_CLOSE = 1001;

interface ClientFrame {
  type: string;
  payload?: unknown;
  request_id?: string | number;
}

// The WebSocket channel. Nest keeps a gateway a singleton, so every frame gets its own context id
// and resolves the request-scoped services under it, carrying the socket's user: the same services,
// built the same way, as for an HTTP request.
@WebSocketGateway({ path: WS_PATH, maxPayload: MAX_BODY_BYTES })
export class AgentGateway
  implements
    OnGatewayInit,
    OnGatewayConnection<WebSocket>,
    OnGatewayDisconnect<WebSocket>,
    BeforeApplicationShutdown
{
  private readonly sessions = new Map<WebSocket, WsSession>();
  private heartbeat?: NodeJS.Timeout;
  private closing = false;

  constructor(
    private readonly moduleRef: ModuleRef,
    private readonly tokens: TokenService,
    private readonly config: ConfigService<EnvironmentVariables, true>,
  ) {}

  // Protocol-level pings find peers that vanished without a close (a closed laptop, a dropped NAT
  // entry), so their subscriptions do not linger.
  afterInit(): void {
    this.heartbeat = setInterval(
      () => {
        for (const session of this.sessions.values()) {
          if (!session.alive) {
            session.socket.terminate();
            continue;
          }
          session.alive = false;
          session.socket.ping();
        }
      },
      this.config.get('WS_HEARTBEAT_MS', { infer: true }),
    );
  }

  // Clients are told to reconnect (here after a restart, or to another instance) rather than left
  // with an abnormal close. After the runs in hand were finished or handed back, so sockets keep
  // their events while the instance drains.
  beforeApplicationShutdown(): void {
    this.closing = true;
    clearInterval(this.heartbeat);
    for (const socket of this.sessions.keys())
      socket.close(GOING_AWAY_CLOSE, 'server shutting down');
  }

  handleConnection(socket: WebSocket, request: IncomingMessage): void {
    // Accepted while the app closes: told to go elsewhere at once.
    if (this.closing) return socket.close(GOING_AWAY_CLOSE, 'server shutting down');
    const user = this.tokens.verify(tokenOf(request));
    const session = new WsSession(socket, user);
    this.sessions.set(socket, session);
    socket.on('pong', () => (session.alive = true));
    user.catch((err: unknown) => {
      session.send({ type: 'error', payload: toErrorPayload(err, undefined).payload });
      socket.close(UNAUTHORIZED_CLOSE, 'unauthorized');
    });
    // Frames that arrive while the token is being checked wait for it, in order.
    let queue = Promise.resolve();
    socket.on('message', (data: RawData, isBinary: boolean) => {
      // Nothing may escape: a rejected queue would leave the socket silently dead.
      queue = queue
        .then(() => this.onFrame(session, data, isBinary))
        .catch((err: unknown) => {
          session.send({ type: 'error', payload: toErrorPayload(err, randomUUID()).payload });
        });
    });
  }

  handleDisconnect(socket: WebSocket): void {
    this.sessions.get(socket)?.close();
    this.sessions.delete(socket);
  }

  private async onFrame(session: WsSession, data: RawData, isBinary: boolean): Promise<void> {
    let user;
    try {
      user = await session.user;
    } catch {
      return; // the connection is being closed as unauthorized
    }
    if (session.closed) return; // frames queued behind a close are dropped
    // The token was checked at connect; a socket must not outlive it (REST checks every request).
    if (user.expiresAt !== undefined && user.expiresAt <= Date.now()) {
      session.send({
        type: 'error',
        payload: { code: 'unauthorized', message: 'The bearer token has expired; reconnect' },
      });
      session.socket.close(UNAUTHORIZED_CLOSE, 'token expired');
      return;
    }
    const correlationId = randomUUID();
    const parsed = parseFrame(data, isBinary);
    if ('error' in parsed) {
      const { payload } = toErrorPayload(parsed.error, correlationId);
      session.send({ type: 'error', request_id: parsed.requestId, payload });
      return;
    }
    // One frame at a time per socket, so acks come in request order (subscribe, then unsubscribe).
    await this.dispatch(session, parsed.frame, { user, id: correlationId }, correlationId);
  }

  private async dispatch(
    session: WsSession,
    frame: ClientFrame,
    carrier: ContextCarrier,
    correlationId: string,
  ): Promise<void> {
    const requestId = frame.request_id;
    try {
      const type = frame.type.toLowerCase();
      // Own keys only: "constructor" or "__proto__" is an unknown type, not an operation.
      const operation = Object.hasOwn(WS_OPERATIONS, type) ? WS_OPERATIONS[type] : undefined;
      if (!operation) {
        throw new DomainError(
          'unknown_type',
          `unknown frame type "${frame.type}"; expected one of ${Object.keys(WS_OPERATIONS).join(', ')}`,
        );
      }
      const payload = operation.dto
        ? await validatePayload(operation.dto, frame.payload)
        : noPayload(frame.payload);
      const contextId = ContextIdFactory.create();
      this.moduleRef.registerRequestByContextId(carrier, contextId);
      const reply = await operation.run(payload, {
        session,
        resolve: (token) => this.moduleRef.resolve(token, contextId, { strict: false }),
      });
      session.send({ type: reply.type, request_id: requestId, payload: reply.payload });
      if (reply.follow) session.follow(reply.follow.runId, reply.follow.events);
    } catch (err) {
      session.send({
        type: 'error',
        request_id: requestId,
        payload: toErrorPayload(err, correlationId).payload,
      });
    }
  }
}

function tokenOf(request: IncomingMessage): string | undefined {
  const fromHeader = bearerToken(request.headers.authorization);
  if (fromHeader) return fromHeader;
  // Browsers cannot set headers on a WebSocket, so they pass the token in the query string.
  const url = new URL(request.url ?? '/', 'http://localhost');
  return url.searchParams.get('token') ?? undefined;
}

type Parsed = { frame: ClientFrame } | { error: DomainError; requestId?: string | number };

function parseFrame(data: RawData, isBinary: boolean): Parsed {
  if (isBinary)
    return { error: new DomainError('bad_frame', 'frames must be JSON text, not binary') };
  let value: unknown;
  try {
    value = JSON.parse(rawText(data));
  } catch {
    return { error: new DomainError('bad_frame', 'frame is not valid JSON') };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return {
      error: new DomainError(
        'bad_frame',
        'frame must be a JSON object { type, payload, request_id? }',
      ),
    };
  }
  const { type, payload, request_id: requestId, ...rest } = value as Record<string, unknown>;
  if (
    requestId !== undefined &&
    !(typeof requestId === 'string' && requestId.length <= 100) &&
    !(typeof requestId === 'number' && Number.isFinite(requestId))
  ) {
    return {
      error: DomainError.validation([
        {
          field: 'request_id',
          messages: ['request_id must be a number or a string of at most 100 characters'],
        },
      ]),
    };
  }
  const problems: FieldError[] = Object.keys(rest).map((field) => ({
    field,
    messages: [`property ${field} should not exist`],
  }));
  if (typeof type !== 'string' || type.length === 0) {
    problems.unshift({ field: 'type', messages: ['type must be a non-empty string'] });
  }
  if (problems.length > 0 || typeof type !== 'string') {
    return { error: DomainError.validation(problems), requestId };
  }
  return { frame: { type, payload, request_id: requestId } };
}

function noPayload(payload: unknown): object {
  const fields = payload && typeof payload === 'object' ? Object.keys(payload) : [];
  if (
    fields.length > 0 ||
    (payload !== undefined && payload !== null && typeof payload !== 'object')
  ) {
    throw DomainError.validation(
      (fields.length ? fields : ['payload']).map((field) => ({
        field,
        messages: [`${field} should not exist`],
      })),
    );
  }
  return {};
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}
