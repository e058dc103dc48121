import SwaggerParser from '@apidevtools/swagger-parser';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { RUN_EVENT_TYPES } from '../src/runs/run-event';
import { RestClient } from './support/rest-client';
import { startTestApp, TestApp } from './support/test-app';

const run = promisify(execFile);
const ROOT = join(__dirname, '..');
const bin = (name: string) => join(ROOT, 'node_modules', '.bin', name);

type Spec = {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
};
type Operation = {
  responses: Record<string, { content?: Record<string, { example?: { statusCode?: number } }> }>;
  requestBody?: { content: Record<string, { schema: Schema }> };
  parameters?: { name: string; in: string; required?: boolean; schema?: Schema }[];
};
type Schema = {
  $ref?: string;
  type?: string;
  format?: string;
  enum?: unknown[];
  example?: unknown;
  minimum?: number;
  minItems?: number;
  required?: string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  allOf?: Schema[];
  oneOf?: Schema[];
  anyOf?: Schema[];
};

// The smallest value of `schema` a client would write: an object with its required properties
// only (each the smallest of its own), an array empty, a scalar its example or its first enum
// value. What a body of "just the required fields" is, for any request body of the document.
function requiredOnly(schema: Schema, schemas: Record<string, Schema>): unknown {
  if (schema.$ref) return requiredOnly(schemas[schema.$ref.split('/').pop()!], schemas);
  if (schema.allOf) {
    return Object.assign({}, ...schema.allOf.map((s) => requiredOnly(s, schemas))) as unknown;
  }
  const choice = schema.oneOf ?? schema.anyOf;
  if (choice) return requiredOnly(choice[0], schemas);
  if (schema.enum) return schema.enum[0];
  if (schema.type === 'object' || schema.properties) {
    return Object.fromEntries(
      (schema.required ?? []).map((name) => [
        name,
        requiredOnly(schema.properties?.[name] ?? {}, schemas),
      ]),
    );
  }
  if (schema.type === 'array') {
    return schema.minItems ? [requiredOnly(schema.items ?? {}, schemas)] : [];
  }
  if (schema.example !== undefined) return schema.example;
  if (schema.type === 'string') {
    return schema.format === 'uuid' ? '3f0c5a8e-1d2b-4c6f-9a7e-2b4d6f8a0c1e' : 'text';
  }
  if (schema.type === 'integer' || schema.type === 'number') return schema.minimum ?? 0;
  if (schema.type === 'boolean') return false;
  return null;
}

// Type-checks `source` (beside the generated client in `dir`) as a strict project would; the
// declarations too (the generated client is one), unless only how `source` uses them matters.
function typeErrors(dir: string, file: string, source: string, declarations = true): string[] {
  writeFileSync(join(dir, file), source);
  const program = ts.createProgram([join(dir, file)], {
    strict: true,
    noEmit: true,
    skipLibCheck: !declarations,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
  });
  return ts
    .getPreEmitDiagnostics(program)
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

// The OpenAPI document as integrators use it: validated by the tools they use, and a typed client
// generated from it that compiles. Both the served document and the committed file.
describe('the OpenAPI document, as client generators read it', () => {
  let app: TestApp;
  let served: Spec;
  let dir: string;
  const committed = JSON.parse(readFileSync(join(ROOT, 'openapi.json'), 'utf8')) as Spec;

  beforeAll(async () => {
    app = await startTestApp();
    served = (await (await fetch(`${app.http}/docs-json`)).json()) as Spec;
    dir = mkdtempSync(join(tmpdir(), 'netra-contracts-'));
    writeFileSync(join(dir, 'served.json'), JSON.stringify(served));
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await app.close();
  });

  it.each(['served', 'committed'])(
    'the %s document passes swagger-parser validation',
    async (which) => {
      const spec = which === 'served' ? served : committed;
      // validate() resolves every $ref (a broken one rejects) and checks the OpenAPI schema.
      await expect(SwaggerParser.validate(structuredClone(spec) as never)).resolves.toBeDefined();
    },
  );

  it.each(['served', 'committed'])(
    'the %s document has no error in redocly lint',
    async (which) => {
      const file = which === 'served' ? join(dir, 'served.json') : join(ROOT, 'openapi.json');
      const { stdout } = await run(bin('redocly'), ['lint', file, '--format=json'], {
        cwd: dir,
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      }).catch((err: { stdout: string }) => ({ stdout: err.stdout }));
      const report = JSON.parse(stdout) as {
        totals: { errors: number };
        problems: { ruleId: string; severity: string; message: string }[];
      };
      expect(report.problems.filter((p) => p.severity === 'error')).toEqual([]);
      expect(report.totals.errors).toBe(0);
    },
  );

  it('generates a typed client with openapi-typescript that compiles and types events by type', async () => {
    await run(bin('openapi-typescript'), [join(ROOT, 'openapi.json'), '-o', join(dir, 'api.d.ts')]);
    const source = `import type { components, paths } from './api';
type Status = paths['/api/agent/{run_id}/status']['get']['responses'][200]['content']['application/json'];
type Event = components['schemas']['RunEvent'];
export function answerOf(status: Status, event: Event): string | undefined {
  const tokens: number = status.usage.models['offline']?.input_tokens ?? 0;
  if (event.type === 'agent_completed') return event.data.answer + String(event.data.usage.input_tokens + tokens);
  if (event.type === 'tool_progress') return String(event.data.done);
  return undefined;
}
type NotFound = paths['/api/agent/{run_id}/stream']['get']['responses'][404]['content']['application/json'];
export const code = (e: NotFound): string => e.code;
`;
    expect(typeErrors(dir, 'client.ts', source)).toEqual([]);
  });

  // A client of `spec` (generated with openapi-typescript's defaults into `name`.d.ts) writing each
  // request body with its required fields alone, and each query without its optional parameters:
  // what it writes, and the compiler's errors.
  const requiredOnlyClient = async (spec: Spec, name: string) => {
    writeFileSync(join(dir, `${name}.json`), JSON.stringify(spec));
    await run(bin('openapi-typescript'), [
      join(dir, `${name}.json`),
      '-o',
      join(dir, `${name}.d.ts`),
    ]);
    const lines = [`import type { paths } from './${name}';`];
    const bodies: Record<string, unknown> = {};
    for (const [path, methods] of Object.entries(spec.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        const at = `paths[${JSON.stringify(path)}][${JSON.stringify(method)}]`;
        const schema = operation.requestBody?.content['application/json']?.schema;
        if (schema) {
          const body = requiredOnly(schema, spec.components.schemas);
          bodies[`${method.toUpperCase()} ${path}`] = body;
          lines.push(
            `export const body${lines.length}: NonNullable<${at}['requestBody']>['content']['application/json'] = ${JSON.stringify(body)};`,
          );
        }
        const query = (operation.parameters ?? []).filter((p) => p.in === 'query');
        if (query.length > 0) {
          const required = query.filter((p) => p.required);
          const value = Object.fromEntries(
            required.map((p) => [p.name, requiredOnly(p.schema ?? {}, {})]),
          );
          lines.push(
            `export const query${lines.length}: NonNullable<${at}['parameters']['query']> = ${JSON.stringify(value)};`,
          );
        }
      }
    }
    return { bodies, errors: typeErrors(dir, `${name}-client.ts`, lines.join('\n'), false) };
  };

  // A field with a default is one the client may leave out. openapi-typescript (defaultNonNullable,
  // on by default) types a property with a `default` as always present, so a `default` in a body's
  // schema makes a body without that field fail to compile (multitask_strategy's did).
  it('takes, in the generated client, every request body with its required fields alone, and every query without its optional parameters', async () => {
    const { bodies, errors } = await requiredOnlyClient(committed, 'required-only');
    // The run starts among them, as a client writes them: the query (the message) alone.
    expect(Object.keys(bodies).length).toBeGreaterThanOrEqual(7);
    for (const route of ['POST /api/agent/run_agent', 'POST /api/agent/stream']) {
      expect(Object.keys(bodies[route] as object)).toEqual(['query']);
    }
    expect(Object.keys(bodies['POST /api/threads/{id}/messages'] as object)).toEqual(['message']);
    expect(errors).toEqual([]);
  });

  it('would catch a default that makes a body field required in the generated client', async () => {
    const spec = structuredClone(committed);
    const field = spec.components.schemas.StartAgentDto.properties!.multitask_strategy;
    Object.assign(field, { default: 'enqueue' });
    const { errors } = await requiredOnlyClient(spec, 'with-default');
    expect(errors.join('\n')).toMatch(/multitask_strategy/);
  });

  it('types RunEvent as a oneOf on type, one schema per event type', () => {
    const runEvent = committed.components.schemas.RunEvent as {
      oneOf: { $ref: string }[];
      discriminator: { propertyName: string; mapping: Record<string, string> };
    };
    expect(runEvent.discriminator.propertyName).toBe('type');
    expect(Object.keys(runEvent.discriminator.mapping).sort()).toEqual([...RUN_EVENT_TYPES].sort());
    expect(runEvent.oneOf).toHaveLength(RUN_EVENT_TYPES.length);
  });

  it('says errors are JSON on every route (streams too), each status with its own example', () => {
    const operations = Object.values(served.paths).flatMap((methods) => Object.values(methods));
    let checked = 0;
    for (const operation of operations) {
      for (const [status, response] of Object.entries(operation.responses)) {
        if (Number(status) < 400) continue;
        const json = response.content?.['application/json'];
        // (Health's 503 is terminus' own body: documented without an example.)
        if (!json?.example) continue;
        expect(Object.keys(response.content ?? {})).toEqual(['application/json']);
        expect(json.example.statusCode).toBe(Number(status));
        checked += 1;
      }
      if (operation.requestBody) expect(Object.keys(operation.responses)).toContain('413');
    }
    expect(checked).toBeGreaterThan(50);
  });

  it('the SSE routes answer their errors as JSON, as documented', async () => {
    const api = new RestClient(app.http, await app.token('ann'));
    const missing = await fetch(
      `${app.http}/api/agent/00000000-0000-4000-8000-000000000000/stream`,
      { headers: { authorization: `Bearer ${api.token}`, accept: 'text/event-stream' } },
    );
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await missing.json()).toMatchObject({ code: 'not_found' });
    const bad = await fetch(`${app.http}/api/agent/stream`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query: '' }),
    });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toMatch(/^application\/json/);
  });
});
