import { getMetadataStorage } from 'class-validator';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { MAX_BODY_BYTES } from '../src/common/limits';
import { depthOf, FREE_JSON_LIMITS, MAX_BODY_DEPTH } from '../src/common/validation';
import { WS_OPERATIONS } from '../src/ws/ws-operations';
import { eventually } from './support/eventually';
import { ExtensionsModule } from './support/extensions.module';
import {
  bodyFor,
  GeneratedBody,
  hostileValueText,
  PROTOTYPE_KEYS,
} from './support/hostile-arbitraries';
import { RestClient } from './support/rest-client';
import { readSse } from './support/sse-client';
import { startTestApp, TestApp } from './support/test-app';
import { Frame, WsClient } from './support/ws-client';

// Generated requests per route and frames per frame type; a fixed seed, so a run is repeatable
// (FC_SEED and FC_RUNS change them, to look further).
const RUNS = Number(process.env.FC_RUNS ?? 120);
const SEED = Number(process.env.FC_SEED ?? 20_261_201);
const WS_MAX_FRAME_BYTES = 64 * 1024;

interface Schema {
  $ref?: string;
  properties?: Record<string, unknown>;
  additionalProperties?: unknown;
}
interface Operation {
  parameters?: { name: string; in: string }[];
  requestBody?: { content: Record<string, { schema: Schema }> };
}
// The committed spec (the openapi test keeps it equal to what the app serves): its routes at
// collection time, so each is a test of its own.
const SPEC = JSON.parse(readFileSync(join(__dirname, '..', 'openapi.json'), 'utf8')) as {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
};
const OPERATIONS = Object.entries(SPEC.paths).flatMap(([path, methods]) =>
  Object.entries(methods).map(([method, op]) => [`${method.toUpperCase()} ${path}`, op] as const),
);

function bodySchema(op: Operation) {
  const schema = op.requestBody?.content['application/json']?.schema;
  if (!schema) return null;
  return schema.$ref
    ? SPEC.components.schemas[schema.$ref.replace('#/components/schemas/', '')]
    : schema;
}

function bodyFields(op: Operation): string[] | null {
  const schema = bodySchema(op);
  return schema ? Object.keys(schema.properties ?? {}) : null;
}

// A body a protocol defines (AG-UI's RunAgentInput) takes fields of its later versions: only
// prototype-named keys are refused there.
function refusedKeys(op: Operation, keys: string[]): string[] {
  if (bodySchema(op)?.additionalProperties !== true) return keys;
  return keys.filter((k) => (PROTOTYPE_KEYS as readonly string[]).includes(k));
}

function dtoFields(dto: (new () => object) | undefined): string[] {
  if (!dto) return [];
  const names = getMetadataStorage()
    .getTargetValidationMetadatas(dto, '', true, false)
    .map((m) => m.propertyName);
  return [...new Set(names)];
}

interface Pool {
  threads: string[];
  runs: string[];
  interrupts: string[];
}

// Values a client would plausibly send for a field (real ids among them), so generated bodies get
// past validation often enough to reach the services.
function plausibleFor(pool: Pool) {
  const id = (ids: string[]) =>
    fc.oneof(fc.constantFrom(...ids), fc.uuid(), fc.string({ maxLength: 40 }));
  return (field: string): fc.Arbitrary<unknown> => {
    switch (field) {
      case 'query':
      case 'message':
        return fc.oneof(fc.string({ maxLength: 60 }), fc.constant('What is 6 * 7?'));
      case 'title':
        return fc.string({ maxLength: 600 });
      case 'metadata':
        return fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }));
      case 'decision':
        return fc.constantFrom('approve', 'reject', 'maybe');
      case 'multitask_strategy':
        return fc.constantFrom('reject', 'enqueue', 'interrupt', 'rollback');
      case 'after':
      case 'limit':
      case 'offset':
        return fc.integer({ min: -2, max: 300 });
      case 'thread_id':
        return id(pool.threads);
      case 'run_id':
      case 'id':
        return id(pool.runs);
      case 'interrupt_id':
        return id(pool.interrupts);
      case 'agent':
        return fc.constantFrom('supervisor', 'mailer', 'nobody', '');
      case 'model':
        return fc.constantFrom('offline', 'gpt-4o', '');
      case 'idempotency_key':
        return fc.string({ minLength: 0, maxLength: 300 });
      default:
        return fc.jsonValue({ maxDepth: 2 });
    }
  };
}

const fieldsOf = (payload: any): string[] =>
  Array.isArray(payload?.errors) ? payload.errors.map((e: { field: string }) => e.field) : [];

// JSON text nested deeper than any body or payload may be: refused whole, before its fields are
// read (so what else is wrong with them goes unsaid).
function nestsTooDeep(text: string): boolean {
  try {
    return depthOf(JSON.parse(text), MAX_BODY_DEPTH) > MAX_BODY_DEPTH;
  } catch {
    return false;
  }
}

// Property-based: thousands of generated requests and frames, on every route and every frame type.
// Whatever comes in, the answer is never a 5xx or an `internal` error, a body with keys the schema
// does not declare is refused naming one, and nothing stored breaks the rules of its table.
describe('generated hostile input on every route and frame type', () => {
  let app: TestApp;
  let api: RestClient;
  let token: string;
  let pool: Pool;
  let plausible: (field: string) => fc.Arbitrary<unknown>;
  let requests = 0;

  beforeAll(async () => {
    app = await startTestApp({ imports: [ExtensionsModule] });
    token = await app.token('fuzz');
    api = new RestClient(app.http, token);
    const threads = [
      (await api.post('/api/threads', { title: 'a', metadata: { keep: true } })).body.id,
      (await api.post('/api/threads', { title: 'b' })).body.id,
    ];
    const done = await api.post('/api/agent/run_agent', {
      query: 'What is 1 + 2?',
      thread_id: threads[0],
      id: 'fuzz-run',
    });
    await readSse(`${app.http}/api/agent/${done.body.run_id}/stream`, { token });
    const paused = await api.post('/api/agent/run_agent', {
      query: 'use send_email {"to": "f@example.com", "subject": "s"}',
    });
    const events = await readSse(`${app.http}/api/agent/${paused.body.run_id}/stream`, {
      token,
      onEvent: (e) => e.type === 'approval_required',
    });
    pool = {
      threads,
      runs: [done.body.run_id, paused.body.run_id, 'fuzz-run'],
      interrupts: [String(events.events.at(-1)!.data.interrupt_id)],
    };
    plausible = plausibleFor(pool);
  });
  afterAll(() => app.close());

  describe('REST', () => {
    const pathValue = () =>
      fc.oneof(
        {
          weight: 3,
          arbitrary: fc.constantFrom(...pool.runs, ...pool.threads, ...pool.interrupts),
        },
        { weight: 1, arbitrary: fc.uuid() },
        {
          weight: 2,
          arbitrary: fc.oneof(
            fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }).map(encodeURIComponent),
            // (No dot segments: the client resolves them before anything is sent.)
            fc.constantFrom(
              '%zz',
              '%',
              '%00',
              '...',
              '%2F',
              '%ED%A0%80',
              'a'.repeat(3000),
              '%E0%A4%A',
            ),
          ),
        },
      );

    const queryFor = (op: Operation) => {
      const declared = (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
      const known = new Set(declared);
      const value = fc.oneof(
        fc.integer({ min: -5, max: 1000 }).map(String),
        fc.constantFrom('', 'abc', '1e308', '1.5', '-0', '0x10', '%00', ' 7'),
        fc.string({ maxLength: 50 }),
      );
      return fc
        .record({
          entries: fc.array(
            fc.tuple(fc.constantFrom(...(declared.length ? declared : ['x'])), value),
            {
              maxLength: 3,
            },
          ),
          unknown: fc.oneof(
            { weight: 3, arbitrary: fc.constant([] as string[]) },
            {
              weight: 1,
              arbitrary: fc.uniqueArray(
                fc
                  .oneof(
                    fc.constantFrom(...PROTOTYPE_KEYS),
                    fc.string({ minLength: 1, maxLength: 10 }),
                  )
                  .filter((k) => !known.has(k) && k !== 'ticket'),
                { minLength: 1, maxLength: 2 },
              ),
            },
          ),
        })
        .map(({ entries, unknown }) => {
          const params = new URLSearchParams();
          for (const [k, v] of declared.length ? entries : []) params.append(k, v);
          for (const k of unknown) params.append(k, '1');
          return { text: params.toString(), unknown: declared.length ? unknown : [], declared };
        });
    };

    const requestFor = (path: string, op: Operation) => {
      const params = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const fields = bodyFields(op);
      const keyed = (op.parameters ?? []).some((p) => p.name === 'Idempotency-Key');
      return fc.record({
        path: fc
          .tuple(...params.map(() => pathValue()))
          .map((values) => params.reduce((p, name, i) => p.replace(`{${name}}`, values[i]), path)),
        query: queryFor(op),
        body: fields
          ? bodyFor(fields, plausible).map((b): GeneratedBody | null => b)
          : fc.constant(null),
        key: keyed
          ? fc.option(fc.string({ unit: 'grapheme-ascii', minLength: 0, maxLength: 300 }))
          : fc.constant(null),
      });
    };

    it.each(OPERATIONS)('%s', async (label, op) => {
      const [method, path] = label.split(' ');
      const params = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      await fc.assert(
        fc.asyncProperty(requestFor(path, op), async ({ path: url, query, body, key }) => {
          requests += 1;
          const res = await fetch(`${app.http}${url}${query.text ? `?${query.text}` : ''}`, {
            method,
            headers: {
              authorization: `Bearer ${token}`,
              ...(body ? { 'content-type': 'application/json' } : {}),
              ...(key !== null ? { 'idempotency-key': key.trim() || 'k' } : {}),
            },
            body: body?.text,
            signal: AbortSignal.timeout(15_000),
          });
          // A stream that started is not read to its end (a paused run's never ends).
          if (res.headers.get('content-type')?.startsWith('text/event-stream')) {
            expect(res.status).toBe(200);
            await res.body?.cancel();
            return;
          }
          const text = await res.text();
          const failure = `${res.status} ${text.slice(0, 300)}`;
          expect([failure, res.status < 500]).toEqual([failure, true]);
          if (res.status >= 400) {
            const error = JSON.parse(text);
            expect(error).toMatchObject({
              code: expect.any(String),
              request_id: expect.any(String),
            });
            expect(error.code).not.toBe('internal');
          }
          const unknown = [
            ...(body?.isObject ? refusedKeys(op, body.unknown) : []),
            ...query.unknown,
          ];
          if (body && Buffer.byteLength(body.text) <= MAX_BODY_BYTES && nestsTooDeep(body.text)) {
            expect([failure, res.status, fieldsOf(JSON.parse(text))]).toEqual([
              failure,
              400,
              ['body'],
            ]);
          } else if (unknown.length > 0) {
            // Refused, whatever else is wrong with the request; named, unless what the refusal
            // names is another part of it checked first (a path parameter, the key header).
            if (body && Buffer.byteLength(body.text) > MAX_BODY_BYTES) {
              expect([failure, res.status]).toEqual([failure, 413]);
            } else {
              expect([failure, [400, 414].includes(res.status)]).toEqual([failure, true]);
              const error = JSON.parse(text);
              const named = fieldsOf(error);
              const first = ['Idempotency-Key', ...params].some((f) => named.includes(f));
              if (error.code === 'validation_failed' && !first) {
                expect([failure, named.some((f) => unknown.includes(f))]).toEqual([failure, true]);
              }
            }
          }
        }),
        { numRuns: RUNS, seed: SEED },
      );
    });
  });

  describe('WebSocket', () => {
    let socket: WsClient;
    const open = async () => {
      socket = await WsClient.connect(app.ws, { token });
    };
    beforeAll(open);
    afterAll(() => socket.close());

    // Sends one frame and resolves with its answer, the next frame that is not a run's update
    // (the gateway answers each frame, in order), or with the close it caused.
    const exchange = async (text: string): Promise<Frame | { closed: number }> => {
      const from = socket.frames.length;
      const current = socket;
      current.sendRaw(text);
      const answer = current.waitFor(
        (f) => f.type !== 'agent_update' && current.frames.indexOf(f) >= from,
      );
      const result = await Promise.race([answer, current.closed.then((c) => ({ closed: c.code }))]);
      if ('closed' in result) await open();
      return result;
    };

    it.each(Object.keys(WS_OPERATIONS))('%s', async (type) => {
      const fields = dtoFields(WS_OPERATIONS[type].dto);
      const payload = fc.oneof(
        { weight: 6, arbitrary: bodyFor(fields, plausible) },
        {
          weight: 1,
          arbitrary: hostileValueText.map((text) => ({
            text,
            unknown: [] as string[],
            isObject: false,
          })),
        },
      );
      let n = 0;
      await fc.assert(
        fc.asyncProperty(payload, async (body) => {
          requests += 1;
          const id = `${type}-${(n += 1)}`;
          const text = `{"type":${JSON.stringify(type)},"request_id":"${id}","payload":${body.text}}`;
          const result = await exchange(text);
          if (Buffer.byteLength(text) > WS_MAX_FRAME_BYTES) {
            expect(result).toEqual({ closed: 1009 });
            return;
          }
          expect('closed' in result ? result : 'open').toBe('open');
          const frame = result as Frame;
          const failure = JSON.stringify(frame).slice(0, 300);
          expect([failure, ['ack', 'pong', 'error'].includes(frame.type)]).toEqual([failure, true]);
          expect([failure, frame.payload?.code]).not.toEqual([failure, 'internal']);
          let parsed = true;
          try {
            JSON.parse(text);
          } catch {
            parsed = false;
          }
          if (parsed) expect(frame.request_id).toBe(id);
          if (parsed && nestsTooDeep(body.text)) {
            expect([failure, frame.type, fieldsOf(frame.payload)]).toEqual([
              failure,
              'error',
              ['payload'],
            ]);
          } else if (parsed && body.isObject && body.unknown.length > 0) {
            expect([failure, frame.type, frame.payload.code]).toEqual([
              failure,
              'error',
              'validation_failed',
            ]);
            expect(fieldsOf(frame.payload).some((f) => body.unknown.includes(f))).toBe(true);
          }
        }),
        { numRuns: RUNS, seed: SEED },
      );
      expect((await socket.request('ping')).type).toBe('pong');
    });

    it('frames that are not frames: any type, request id or shape is an error frame, not a crash', async () => {
      const frame = fc.oneof(
        fc
          .record({
            type: fc.oneof(
              fc.constantFrom(...PROTOTYPE_KEYS, 'PING', 'Start_Agent', ''),
              hostileValueText,
              fc.string().map((s) => JSON.stringify(s)),
            ),
            requestId: fc.option(hostileValueText),
            extra: fc.option(fc.tuple(fc.constantFrom(...PROTOTYPE_KEYS, 'x'), hostileValueText)),
          })
          .map(
            ({ type, requestId, extra }) =>
              `{"type":${type}${requestId === null ? '' : `,"request_id":${requestId}`}${
                extra ? `,${JSON.stringify(extra[0])}:${extra[1]}` : ''
              }}`,
          ),
        hostileValueText,
      );
      await fc.assert(
        fc.asyncProperty(frame, async (text) => {
          requests += 1;
          const result = await exchange(text);
          if (Buffer.byteLength(text) > WS_MAX_FRAME_BYTES) {
            expect(result).toEqual({ closed: 1009 });
            return;
          }
          const answer = result as Frame;
          expect([text.slice(0, 200), answer.type]).not.toEqual([text.slice(0, 200), undefined]);
          expect(answer.payload?.code).not.toBe('internal');
        }),
        { numRuns: RUNS * 3, seed: SEED },
      );
    });
  });

  describe('afterwards', () => {
    it('sent thousands of requests and frames', () => {
      expect(requests).toBeGreaterThan(2_000);
    });

    it('nothing stored breaks the rules of its table', async () => {
      const db = new Client({ connectionString: app.databaseUrl });
      await db.connect();
      const one = async (sql: string) => (await db.query(sql)).rows;
      try {
        const threads = await one(`SELECT id, user_id, title, metadata FROM threads`);
        expect(threads.length).toBeGreaterThan(pool.threads.length);
        for (const t of threads) {
          expect(t.metadata).toEqual(expect.any(Object));
          expect(Array.isArray(t.metadata)).toBe(false);
          expect(depthOf(t.metadata, FREE_JSON_LIMITS.depth)).toBeLessThanOrEqual(
            FREE_JSON_LIMITS.depth,
          );
          expect(JSON.stringify(t.metadata).length).toBeLessThanOrEqual(FREE_JSON_LIMITS.bytes);
          expect((t.title ?? '').length).toBeLessThanOrEqual(500);
        }
        // One user only, and every row of a thread is its user's.
        for (const table of ['threads', 'runs', 'messages', 'run_events', 'run_interrupts']) {
          expect(await one(`SELECT DISTINCT user_id FROM ${table}`)).toEqual(
            table === 'run_interrupts' ? expect.any(Array) : [{ user_id: 'fuzz' }],
          );
        }
        expect(
          await one(`SELECT r.id FROM runs r JOIN threads t ON t.id = r.thread_id
                     WHERE r.user_id <> t.user_id`),
        ).toEqual([]);
        expect(
          await one(`SELECT m.id FROM messages m JOIN threads t ON t.id = m.thread_id
                     WHERE m.user_id <> t.user_id`),
        ).toEqual([]);
        // Events numbered 1..n with no gap, and the run's counter at n.
        expect(
          await one(`SELECT r.id FROM runs r
                     LEFT JOIN (SELECT run_id, count(*) AS n, max(seq) AS top FROM run_events
                                GROUP BY run_id) e ON e.run_id = r.id
                     WHERE coalesce(e.n, 0) <> coalesce(e.top, 0) OR r.last_seq <> coalesce(e.top, 0)`),
        ).toEqual([]);
        expect(await one(`SELECT id FROM runs WHERE length(query) > 20000`)).toEqual([]);
      } finally {
        await db.end();
      }
    });

    it('the service still works for the user', async () => {
      const started = await api.post('/api/agent/run_agent', { query: 'What is 6 * 7?' });
      expect(started.status).toBe(202);
      const { events } = await readSse(`${app.http}/api/agent/${started.body.run_id}/stream`, {
        token,
      });
      expect(events.at(-1)!.data.answer).toBe('6 * 7 = 42.');
      const ready = await eventually(
        () => fetch(`${app.http}/health/ready`).then((r) => r.status),
        (status) => status === 200,
        5_000,
      );
      expect(ready).toBe(200);
    });
  });
});
