import { MAX_QUERY_BYTES } from '../../common/limits';
import { JsonSchema } from './asyncapi.schemas';
import { GOING_AWAY_CLOSE, POLICY_CLOSE, TOO_SLOW_CLOSE, UNAUTHORIZED_CLOSE } from '../ws-session';

// This instance's settings, which the text quotes.
export interface Limits {
  port: number;
  frameBytes: number;
  bufferedBytes: number;
  framesPerMinute: number;
  startsPerMinute: number;
  socketsPerUser: number;
  heartbeatMs: number;
}

// ws's own codes: a text frame that is not UTF-8, a frame over maxPayload.
const INVALID_DATA_CLOSE = 1007;
const TOO_BIG_CLOSE = 1009;

// The document's description (CommonMark): the handshake, the frame envelope, the limits and the
// close codes, which no message schema can say.
export function connectionText(limits: Limits): string {
  const closes: [number, string][] = [
    [
      GOING_AWAY_CLOSE,
      'the instance is shutting down: reconnect (to any instance) and `subscribe` with the last `seq` seen',
    ],
    [INVALID_DATA_CLOSE, 'a text frame was not valid UTF-8'],
    [POLICY_CLOSE, 'too many sockets for this user (a handshake that raced past the count)'],
    [TOO_BIG_CLOSE, `a frame over WS_MAX_FRAME_BYTES (${limits.frameBytes} bytes)`],
    [
      TOO_SLOW_CLOSE,
      `the socket left more than WS_MAX_BUFFERED_BYTES (${limits.bufferedBytes} bytes) unread`,
    ],
    [
      UNAUTHORIZED_CLOSE,
      'the token expired (after an `unauthorized` error frame): reconnect with a fresh one',
    ],
  ];
  const refusals: [number, string][] = [
    [
      401,
      'no token or ticket, or one that is invalid, expired, used or of the wrong issuer/audience',
    ],
    [
      403,
      "the `Origin` is neither the app's own nor one of ALLOWED_ORIGINS (clients that send no `Origin` are allowed)",
    ],
    [414, `the query string is longer than ${MAX_QUERY_BYTES} bytes`],
    [
      429,
      `the user already has MAX_SOCKETS_PER_USER (${limits.socketsPerUser}) sockets open on this instance; \`Retry-After\` says when to try again`,
    ],
  ];
  return [
    'The WebSocket channel of netra-backend: every operation of the REST API (described at ' +
      '[/docs-json](/docs-json)) through the same service calls, and the events of the runs a ' +
      'socket follows. This document is generated from the frame table the server dispatches on.',
    '## Connecting',
    'Authenticate with the same JWT as REST, checked **before the upgrade**, in one of three ways:',
    [
      '- an `Authorization: Bearer <token>` header (servers, native clients);',
      '- `?ticket=<ticket>`, for browsers (which cannot set headers on a WebSocket): a single-use ' +
        'ticket from `POST /api/stream-tickets` or the `create_stream_ticket` frame, used within ' +
        'its `expires_in` seconds, on any instance;',
      "- `?token=<token>`, for older clients (prefer a ticket: URLs end up in proxies' logs).",
    ].join('\n'),
    'A refused handshake is answered with an HTTP status and no socket:',
    table(['status', 'why'], refusals),
    '## Frames',
    'Every frame is a JSON text frame. A client frame is `{ "type", "payload"?, "request_id"? }`; ' +
      'types are case-insensitive (`START_AGENT` is `start_agent`). Unknown fields are rejected, ' +
      'at the top level and in payloads, whatever their name (`__proto__` too); so is `null` for ' +
      'a field: leave it out instead. A request is answered by one `ack` (or `pong`) or one ' +
      '`error` frame carrying its `request_id`; the frames of one socket are handled in order, so ' +
      'answers come in request order. `agent_update` frames carry the events of the runs the ' +
      'socket follows: the runs it started and those it subscribed to.',
    '## Limits and close codes',
    [
      `- Frames a minute (RATE_LIMIT_FRAMES, ${limits.framesPerMinute}) and run starts a minute ` +
        `(RATE_LIMIT_RUN_STARTS, ${limits.startsPerMinute}) are counted per user: past them a ` +
        'frame gets a `rate_limited` error with `retry_after_ms`, and the socket stays open.',
      `- The server pings every socket every ${limits.heartbeatMs} ms (WS_HEARTBEAT_MS); a ` +
        'socket that misses a pong is dropped without a close frame (1006 on your side).',
    ].join('\n'),
    table(['close code', 'meaning'], closes),
  ].join('\n\n');
}

function table(header: [string, string], rows: [number, string][]): string {
  return [
    `| ${header[0]} | ${header[1]} |`,
    '| --- | --- |',
    ...rows.map(([code, text]) => `| \`${code}\` | ${text} |`),
  ].join('\n');
}

export function handshakeBinding(): JsonSchema {
  return {
    method: 'GET',
    query: {
      type: 'object',
      properties: {
        ticket: {
          type: 'string',
          description: 'A single-use stream ticket (POST /api/stream-tickets), for browsers',
        },
        token: { type: 'string', description: 'The JWT itself (legacy; prefer a ticket)' },
      },
    },
    headers: {
      type: 'object',
      properties: {
        Authorization: { type: 'string', pattern: '^Bearer ', description: 'Bearer <JWT>' },
      },
    },
    bindingVersion: '0.1.0',
  };
}

export function securitySchemes(): JsonSchema {
  return {
    bearer: {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description: 'The same JWT as REST, in the Authorization header of the handshake',
    },
    ticket: {
      type: 'httpApiKey',
      name: 'ticket',
      in: 'query',
      description:
        'A single-use ticket from POST /api/stream-tickets (or the create_stream_ticket frame): ' +
        '`/ws?ticket=...` within its expires_in seconds, on any instance',
    },
    token: {
      type: 'httpApiKey',
      name: 'token',
      in: 'query',
      description: 'The JWT in `?token=`, for older clients (URLs end up in proxy logs)',
    },
  };
}
