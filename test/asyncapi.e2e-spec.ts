import { DiagnosticSeverity, Parser } from '@asyncapi/parser';
import Ajv from 'ajv';
import { RUN_EVENT_TYPES } from '../src/runs/run-event';
import { WS_OPERATIONS } from '../src/ws/ws-operations';
import { WS_OPERATION_DOCS } from '../src/ws/asyncapi/ws-operation.docs';
import { startTestApp, TestApp } from './support/test-app';
import { WsClient } from './support/ws-client';

// The AsyncAPI document of /ws: valid, complete both ways against the frame table the gateway
// dispatches on and the event types, its examples true to its schemas, and readable as a page.
describe('AsyncAPI document of the WebSocket', () => {
  let app: TestApp;
  let served: any;

  beforeAll(async () => {
    app = await startTestApp();
    const res = await fetch(`${app.http}/docs/ws-json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    served = await res.json();
  });
  afterAll(() => app.close());

  it('is a valid AsyncAPI 3 document', async () => {
    const { document, diagnostics } = await new Parser().parse(served);
    const errors = diagnostics.filter(
      (d) => Number(d.severity) === Number(DiagnosticSeverity.Error),
    );
    expect(errors.map((d) => `${d.path.join('.')}: ${d.message}`)).toEqual([]);
    expect(document?.version()).toBe('3.0.0');
  });

  it('has every frame type the gateway handles, and handles every client frame it has', () => {
    const received = Object.values(served.operations as Record<string, any>)
      .filter((operation) => operation.action === 'receive')
      .map((operation) => operation.messages.map((m: any) => frameType(m)))
      .flat();
    expect(received.sort()).toEqual(Object.keys(WS_OPERATIONS).sort());
    expect(Object.keys(WS_OPERATION_DOCS).sort()).toEqual(Object.keys(WS_OPERATIONS).sort());
  });

  it('answers every request with its ack (or pong) or an error', () => {
    for (const [type, operation] of Object.entries(served.operations as Record<string, any>)) {
      if (operation.action !== 'receive') continue;
      const replies = operation.reply.messages.map((m: any) => frameType(m)).sort();
      expect([type, replies]).toEqual([type, [type === 'ping' ? 'pong' : 'ack', 'error'].sort()]);
    }
    const sent = new Set(
      Object.values(served.components.messages as Record<string, any>).map((m) =>
        frameType({ $ref: `#/components/messages/${m.name}` }),
      ),
    );
    for (const type of ['ack', 'pong', 'error', 'agent_update']) expect(sent).toContain(type);
  });

  it('types the event of agent_update per event type, for every event type there is', () => {
    const event = resolve(served.components.messages.agent_update.payload.properties.payload);
    const types = event.oneOf.map((variant: any) => resolve(variant).properties.type.const);
    expect(types.sort()).toEqual([...RUN_EVENT_TYPES].sort());
    const examples = served.components.messages.agent_update.examples;
    expect(examples.map((e: any) => e.payload.payload.type).sort()).toEqual(types.sort());
  });

  it('lists every error code with retry_after_ms on the error frame', () => {
    const error = resolve(served.components.messages.error.payload.properties.payload);
    expect(error.properties.code.enum).toContain('rate_limited');
    expect(error.properties.retry_after_ms).toBeDefined();
  });

  it('has examples that fit their own schemas', () => {
    // Formats (uuid, date-time) are not checked: ajv-formats is not a dependency of this project.
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    ajv.addSchema({ components: served.components }, 'doc');
    const failures: string[] = [];
    for (const [name, message] of Object.entries(
      served.components.messages as Record<string, any>,
    )) {
      const validate = ajv.compile({ $ref: `doc#/components/messages/${name}/payload` });
      expect(message.examples?.length).toBeGreaterThan(0);
      for (const example of message.examples) {
        if (!validate(example.payload))
          failures.push(`${name} ${example.name}: ${ajv.errorsText(validate.errors)}`);
      }
    }
    expect(failures).toEqual([]);
  });

  // The document against the server: the first example of every client frame, with the ids of a
  // real thread and run, passes the gateway's validation and is answered as documented; every
  // frame the server sends back, events included, fits the document.
  it('describes what the gateway accepts and sends', async () => {
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    ajv.addSchema({ components: served.components }, 'doc');
    const fits = (name: string, frame: unknown) => {
      const validate = ajv.compile({ $ref: `doc#/components/messages/${name}/payload` });
      return validate(frame) ? null : `${name}: ${ajv.errorsText(validate.errors)}`;
    };
    const ws = await WsClient.connect(app.ws, { token: await app.token('asyncapi-user') });
    try {
      const thread = await ws.request('create_thread', { title: 'contract' });
      const started = await ws.request('start_agent', {
        query: 'What is 17 * 23?',
        thread_id: thread.payload.id,
      });
      await ws.terminal(started.payload.run_id);
      const ids: Record<string, string> = {
        run_id: started.payload.run_id,
        thread_id: thread.payload.id,
      };
      const problems: string[] = [];
      const errors: string[] = [];
      // delete_thread last: the others use the thread.
      const types = Object.keys(WS_OPERATIONS).sort(
        (a, b) => Number(a === 'delete_thread') - Number(b === 'delete_thread'),
      );
      for (const type of types) {
        const answer = await ws.request(type, sendable(type, ids));
        if (answer.type === 'error') errors.push(`${type} ${answer.payload.code}`);
        const replies = served.operations[type].reply.messages.map((m: any) => resolve(m).name);
        const name = answer.type === 'error' ? 'error' : replies.find((r: string) => r !== 'error');
        const misfit = fits(name, answer);
        if (misfit) problems.push(`${type} answer: ${misfit}`);
      }
      for (const frame of ws.frames.filter((f) => f.type === 'agent_update')) {
        const misfit = fits('agent_update', frame);
        if (misfit) problems.push(misfit);
      }
      expect(problems).toEqual([]);
      // Only the approval fails: the example's interrupt is not one of this run's.
      expect(errors).toEqual(['approve_tool not_found']);
    } finally {
      await ws.close();
    }
  });

  it('describes the handshake and the close codes', () => {
    const text = served.info.description as string;
    for (const word of ['Authorization', '?ticket=', '?token=', '401', '403', '414', '429'])
      expect(text).toContain(word);
    for (const code of [1001, 1007, 1008, 1009, 1013, 4401]) expect(text).toContain(`\`${code}\``);
  });

  it('is a readable page at /docs/ws that lists every frame type', async () => {
    const res = await fetch(`${app.http}/docs/ws`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const html = await res.text();
    for (const type of [...Object.keys(WS_OPERATIONS), 'ack', 'pong', 'error', 'agent_update'])
      expect(html).toContain(`<code>${type}</code>`);
    for (const type of RUN_EVENT_TYPES) expect(html).toContain(type);
    const ids = [...html.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
    // Nothing the app's CSP would refuse, nothing from elsewhere.
    expect(html).not.toMatch(/<script|https?:\/\/(?!opensource\.org|example\.com)/);
  });

  // The first documented example of a client frame (its required fields), with real ids.
  function sendable(type: string, ids: Record<string, string>): object | undefined {
    const example = served.components.messages[type].examples[0].payload.payload;
    if (!example) return undefined;
    return Object.fromEntries(
      Object.entries(example).map(([field, value]) => [field, ids[field] ?? value]),
    );
  }

  function resolve(schema: any): any {
    if (!schema.$ref) return schema;
    return resolve(
      schema.$ref
        .slice(2)
        .split('/')
        .reduce((node: any, key: string) => node[key], served),
    );
  }

  // The `type` of the frame a message (or a reference to it) describes.
  function frameType(message: any): string {
    return resolve(resolve(message).payload).properties.type.const;
  }
});

describe('AsyncAPI document with DOCS_ENABLED=false', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { DOCS_ENABLED: 'false' } });
  });
  afterAll(() => app.close());

  it('is not served', async () => {
    expect((await fetch(`${app.http}/docs/ws`)).status).toBe(404);
    expect((await fetch(`${app.http}/docs/ws-json`)).status).toBe(404);
  });
});
