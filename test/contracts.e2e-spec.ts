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
  components: { schemas: Record<string, Record<string, unknown>> };
};
type Operation = {
  responses: Record<string, { content?: Record<string, { example?: { statusCode?: number } }> }>;
  requestBody?: unknown;
};

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
    writeFileSync(
      join(dir, 'client.ts'),
      `import type { components, paths } from './api';
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
`,
    );
    const program = ts.createProgram([join(dir, 'client.ts')], {
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.CommonJS,
    });
    const diagnostics = ts
      .getPreEmitDiagnostics(program)
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(diagnostics).toEqual([]);
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
