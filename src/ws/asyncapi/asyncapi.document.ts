import { INestApplication } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { getSchemaPath } from '@nestjs/swagger';
import { EnvironmentVariables } from '../../config/env.validation';
import { RunEvent, TERMINAL_EVENT_TYPES } from '../../runs/run-event';
import { TokenUsageView } from '../../runs/run.views';
import { WS_OPERATIONS } from '../ws-operations';
import { connectionText, handshakeBinding, Limits, securitySchemes } from './asyncapi.connection';
import { withConstraints } from './asyncapi.constraints';
import { eventSchemas } from './asyncapi.events';
import {
  ackMessage,
  clientMessage,
  errorMessage,
  serverMessage,
  updateMessage,
} from './asyncapi.messages';
import { JsonSchema, refName, schemasOf } from './asyncapi.schemas';
import { ErrorFrameView } from './ws-frame.views';
import { OperationDoc, WS_OPERATION_DOCS } from './ws-operation.docs';

export type AsyncApiDocument = JsonSchema & { asyncapi: '3.0.0' };

const CHANNEL = { $ref: '#/channels/ws' };
const message = (name: string) => ({ $ref: `#/channels/ws/messages/${name}` });

// The AsyncAPI 3 document of /ws, made at run time from what the gateway itself uses: the frame
// table (WS_OPERATIONS) and its payload DTOs, the views the acks carry (WS_OPERATION_DOCS), the
// error codes and RUN_EVENT_DATA. No client frame and no field is listed by hand.
export function createAsyncApiDocument(app: INestApplication): AsyncApiDocument {
  const config = app.get(ConfigService<EnvironmentVariables, true>);
  const docs = operationDocs();
  const dtos = Object.values(WS_OPERATIONS).flatMap((operation) => operation.dto ?? []);
  const views = Object.values(docs).flatMap(({ reply }) => (reply === 'pong' ? [] : [reply.ack]));
  // TokenUsageView: RunUsageView names it in a $ref of its own, and swagger reads @ApiExtraModels
  // from controllers only.
  const schemas = schemasOf(app, [
    ...dtos,
    ...views.flat(),
    ErrorFrameView,
    RunEvent,
    TokenUsageView,
  ]);
  for (const dto of dtos) {
    const name = refName(getSchemaPath(dto));
    schemas[name] = withConstraints(schemas[name], dto);
  }
  Object.assign(schemas, eventSchemas(schemas[refName(getSchemaPath(RunEvent))]));

  const messages: Record<string, JsonSchema> = {};
  const operations: Record<string, JsonSchema> = {};
  for (const [type, operation] of Object.entries(WS_OPERATIONS)) {
    const doc = docs[type];
    messages[type] = clientMessage(type, doc, operation.dto, schemas);
    const answer = doc.reply === 'pong' ? 'pong' : `${type}_ack`;
    if (doc.reply !== 'pong') messages[answer] = ackMessage(type, doc.reply.ack, schemas);
    operations[type] = {
      action: 'receive',
      channel: CHANNEL,
      title: type,
      summary: doc.summary,
      description:
        `REST twin: \`${doc.rest}\`.` +
        (doc.follows
          ? ' The socket then follows the run: `agent_update` frames carry its events.'
          : ''),
      messages: [message(type)],
      reply: { channel: CHANNEL, messages: [message(answer), message('error')] },
    };
  }
  messages.pong = serverMessage('pong', 'The answer to ping', { type: 'object', maxProperties: 0 });
  messages.error = errorMessage();
  messages.agent_update = updateMessage(schemas);
  operations.agent_update = {
    action: 'send',
    channel: CHANNEL,
    title: 'agent_update',
    summary: 'An event of a run the socket follows (it started or subscribed to it)',
    description:
      'Each event once and in `seq` order, the stored ones first after a `subscribe`; the ' +
      `subscription ends by itself after the terminal event (${TERMINAL_EVENT_TYPES.join(', ')}), ` +
      "whose `data.usage` is the run's token usage.",
    messages: [message('agent_update')],
  };
  operations.unsolicited_error = {
    action: 'send',
    channel: CHANNEL,
    title: 'error',
    summary: 'An error not tied to a request: no request_id',
    description:
      'The token (or the token behind the ticket) expired: `unauthorized`, then close 4401. The ' +
      'event stream of a followed run failed: `internal`; subscribe again from the last seq seen.',
    messages: [message('error')],
  };

  const limits: Limits = {
    port: config.get('PORT', { infer: true }),
    frameBytes: config.get('WS_MAX_FRAME_BYTES', { infer: true }),
    bufferedBytes: config.get('WS_MAX_BUFFERED_BYTES', { infer: true }),
    framesPerMinute: config.get('RATE_LIMIT_FRAMES', { infer: true }),
    startsPerMinute: config.get('RATE_LIMIT_RUN_STARTS', { infer: true }),
    socketsPerUser: config.get('MAX_SOCKETS_PER_USER', { infer: true }),
    heartbeatMs: config.get('WS_HEARTBEAT_MS', { infer: true }),
  };
  const security = ['bearer', 'ticket', 'token'].map((name) => ({
    $ref: `#/components/securitySchemes/${name}`,
  }));
  return {
    asyncapi: '3.0.0',
    // The version of the app, as in the OpenAPI document.
    info: {
      title: 'netra-backend WebSocket',
      version: '0.1.0',
      description: connectionText(limits),
      license: { name: 'MIT', url: 'https://opensource.org/licenses/MIT' },
    },
    defaultContentType: 'application/json',
    servers: {
      development: {
        host: `localhost:${limits.port}`,
        protocol: 'ws',
        description: '`npm start` on this machine',
        security,
      },
      production: {
        host: '{host}',
        protocol: 'wss',
        description: 'A deployment behind TLS: the host that serves the REST API',
        variables: {
          host: { default: 'netra.example.com', description: 'The host (and port) of the app' },
        },
        security,
      },
    },
    channels: {
      ws: {
        address: '/ws',
        title: 'The agent socket',
        description:
          'One socket per client: requests and their answers, and the events of the runs it follows.',
        messages: Object.fromEntries(
          Object.keys(messages).map((name) => [name, { $ref: `#/components/messages/${name}` }]),
        ),
        bindings: { ws: handshakeBinding() },
      },
    },
    operations,
    components: {
      schemas,
      messages,
      securitySchemes: securitySchemes(),
      correlationIds: {
        request_id: {
          description: 'An answer (ack, pong or error) carries the request_id of its request',
          location: '$message.payload#/request_id',
        },
      },
    },
  };
}

// The docs of every type the table has: a type without them is a bug the test names, not a gap.
function operationDocs(): Record<string, OperationDoc> {
  const missing = Object.keys(WS_OPERATIONS).filter(
    (type) => !Object.hasOwn(WS_OPERATION_DOCS, type),
  );
  if (missing.length > 0) throw new Error(`no WS_OPERATION_DOCS for ${missing.join(', ')}`);
  return WS_OPERATION_DOCS;
}
