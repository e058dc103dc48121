import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { OnGatewayConnection, OnGatewayDisconnect, WebSocketGateway } from '@nestjs/websockets';
import { randomUUID } from 'node:crypto';
import { RawData, WebSocket } from 'ws';
import { DomainError, FieldError } from '../common/domain.error';
import { toErrorPayload } from '../common/error-response';
import { nestingError, validatePayload } from '../common/validation';
import { EnvironmentVariables } from '../config/env.validation';
import { rateLimited } from '../limits/rate-limit.guard';
import { RateLimitStorage } from '../limits/rate-limit.storage';
import { withLogContext } from '../logging/log-context';
import { MessageHandlerService } from '../messaging/message-handler.service';
import { WsConnections } from './ws-connections';
import { HANDSHAKE_USER, HandshakeRequest } from './ws-handshake';
import { WS_OPERATIONS } from './ws-operations';
import { GOING_AWAY_CLOSE, POLICY_CLOSE, UNAUTHORIZED_CLOSE, WsSession } from './ws-session';
import { WsSessions } from './ws-sessions';
import { SpanKind } from '@opentelemetry/api';
import { inSpan, RUN_ID, USER_ID } from '../tracing/tracer';

export const WS_PATH = '/ws';
const MINUTE_MS = 60_000;
// Frames of one socket read but not yet handled, past which the socket is not read until half
// of them are.
const MAX_PENDING_FRAMES = 64;
// Frames that start a run count against the user's run starts, as the REST routes do.
const STARTS_RUN = new Set(['start_agent', 'user_message']);

interface ClientFrame {
  type: string;
  payload?: unknown;
  request_id?: string | number;
}

// The WebSocket channel. Request-scoped like the services it injects: Nest 12 resolves a gateway
// per connection through the context id strategy, which picks by the socket's verified user (the
// adapter puts it on the socket), so the gateway and its MessageHandlerService are that user's
// durable instances, the ones the user's HTTP requests get too; every frame makes the same service
// call an HTTP request makes. What concerns all sockets (heartbeats, shutdown) is WsSessions'. The
// handshake
// (origin, credentials, socket cap) was checked before the upgrade (WsHandshake); the frame size is
// GatewayWsAdapter's.
@WebSocketGateway({ path: WS_PATH })
export class AgentGateway
  implements OnGatewayConnection<WebSocket>, OnGatewayDisconnect<WebSocket>
{
  private readonly logger = new Logger('WebSocket');

  constructor(
    private readonly handler: MessageHandlerService,
    private readonly sessions: WsSessions,
    private readonly connections: WsConnections,
    private readonly limits: RateLimitStorage,
    private readonly config: ConfigService<EnvironmentVariables, true>,
  ) {}

  handleConnection(socket: WebSocket, request: HandshakeRequest): void {
    // Accepted while the app closes: told to go elsewhere at once.
    if (this.sessions.closing) return socket.close(GOING_AWAY_CLOSE, 'server shutting down');
    const user = request[HANDSHAKE_USER];
    if (!user) return socket.close(UNAUTHORIZED_CLOSE, 'unauthorized');
    // The handshake checked the cap, but handshakes of one user verified at the same time all saw
    // the same count: the ones past it go here (1008, policy violation).
    if (this.connections.count(user.id) >= this.config.get('MAX_SOCKETS_PER_USER', { infer: true }))
      return socket.close(POLICY_CLOSE, 'too many open sockets');
    const session = new WsSession(
      socket,
      user,
      this.config.get('WS_MAX_BUFFERED_BYTES', { infer: true }),
    );
    this.sessions.add(session);
    this.connections.opened(user.id);
    this.logger.debug(`socket opened for user ${user.id}`);
    socket.once('close', (code: number) =>
      this.logger.debug(`socket of user ${user.id} closed with ${code}`),
    );
    let queue = Promise.resolve();
    let pending = 0;
    socket.on('message', (data: RawData, isBinary: boolean) => {
      // Back-pressure on what comes in: a client that sends faster than its frames are handled
      // stops being read (TCP holds the rest), so its frames never pile up in this process.
      if ((pending += 1) >= MAX_PENDING_FRAMES) socket.pause();
      // Nothing may escape: a rejected queue would leave the socket silently dead.
      queue = queue
        .then(() => {
          // The frame's own correlation id and the socket's user on every line it logs.
          const correlationId = randomUUID();
          const fields = { user_id: user.id, request_id: correlationId };
          return withLogContext(fields, () => this.onFrame(session, data, isBinary, correlationId));
        })
        .catch((err: unknown) => {
          session.send({ type: 'error', payload: toErrorPayload(err, randomUUID()).payload });
        })
        .finally(() => {
          if ((pending -= 1) < MAX_PENDING_FRAMES / 2 && socket.isPaused) socket.resume();
        });
    });
  }

  handleDisconnect(socket: WebSocket): void {
    const session = this.sessions.remove(socket);
    if (!session) return;
    session.close();
    this.connections.closed(session.user.id);
  }

  private async onFrame(
    session: WsSession,
    data: RawData,
    isBinary: boolean,
    correlationId: string,
  ): Promise<void> {
    if (session.closed) return; // frames queued behind a close are dropped
    const parsed = parseFrame(data, isBinary);
    const requestId = 'error' in parsed ? parsed.requestId : parsed.frame.request_id;
    // Every frame counts, a bad one too: a flood is refused before any work is done for it.
    const refused = await this.overBudget(session, 'frames', 'RATE_LIMIT_FRAMES');
    if (refused) {
      const { payload } = toErrorPayload(refused, correlationId);
      return session.send({ type: 'error', request_id: requestId, payload });
    }
    if ('error' in parsed) {
      const { payload } = toErrorPayload(parsed.error, correlationId);
      session.send({ type: 'error', request_id: parsed.requestId, payload });
      return;
    }
    const type = parsed.frame.type.toLowerCase();
    if (STARTS_RUN.has(type)) {
      const overStarts = await this.overBudget(session, 'starts', 'RATE_LIMIT_RUN_STARTS');
      if (overStarts) {
        const { payload } = toErrorPayload(overStarts, correlationId);
        return session.send({ type: 'error', request_id: requestId, payload });
      }
    }
    // One frame at a time per socket, so acks come in request order (subscribe, then unsubscribe).
    const runId = (parsed.frame.payload as { run_id?: unknown } | undefined)?.run_id;
    const attributes = {
      'netra.frame': type,
      'netra.request_id': correlationId,
      [USER_ID]: session.user.id,
      ...(typeof runId === 'string' ? { [RUN_ID]: runId } : {}),
    };
    await inSpan(
      `ws ${type}`,
      attributes,
      () => this.dispatch(session, parsed.frame, correlationId),
      SpanKind.SERVER,
    );
  }

  // The user's budget of `name` (the same counters as the REST rate limits), or the refusal.
  private async overBudget(
    session: WsSession,
    name: 'frames' | 'starts',
    limitKey: 'RATE_LIMIT_FRAMES' | 'RATE_LIMIT_RUN_STARTS',
  ): Promise<DomainError | null> {
    const limit = this.config.get(limitKey, { infer: true });
    const counted = await this.limits.increment(
      `${name}:user:${session.user.id}`,
      MINUTE_MS,
      limit,
      0,
      name,
    );
    return counted.isBlocked
      ? rateLimited(counted.timeToBlockExpire * 1000, name === 'starts' ? 'run starts' : 'frames')
      : null;
  }

  private async dispatch(
    session: WsSession,
    frame: ClientFrame,
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
      const started = Date.now();
      const reply = await operation.run(payload, { session, handler: this.handler });
      // What was asked and how it went; never a payload (an ack may carry a stream ticket).
      this.logger.verbose(
        `${type} from user ${session.user.id} (${correlationId}): ${reply.type} in ${Date.now() - started} ms`,
      );
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
  // Named as the nesting it is, as for a frame that takes a payload (validatePayload).
  const deep = nestingError(payload, 'payload');
  if (deep) throw deep;
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
