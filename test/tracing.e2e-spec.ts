import { NodeSDK } from '@opentelemetry/sdk-node';
import { InMemorySpanExporter, ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTracing } from '../src/tracing/tracing';
import { Instance } from './support/instance';
import { RestClient } from './support/rest-client';
import { readSse } from './support/sse-client';
import { createDatabase, dropDatabase, startTestApp, TestApp } from './support/test-app';
import { until } from './support/until';
import { WsClient } from './support/ws-client';

// The spans an operator follows a run by: the HTTP request or frame, the run, its model and tool
// calls, all carrying the run's id; a run's model and tool calls are children of its span.
describe('traces', () => {
  const exporter = new InMemorySpanExporter();
  let sdk: NodeSDK;
  let app: TestApp;
  let api: RestClient;

  beforeAll(async () => {
    sdk = startTracing([new SimpleSpanProcessor({ exporter })])!;
    app = await startTestApp();
    api = new RestClient(app.http, await app.token('tracer'));
  });
  afterAll(async () => {
    await app.close();
    await sdk.shutdown();
  });

  const spans = () => exporter.getFinishedSpans();
  const named = (name: string) => spans().filter((s) => s.name === name);
  const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

  it('has a span per request, frame, run, model call and tool call, linked by run id', async () => {
    const started = await api.post('/api/agent/run_agent', { query: 'What is 17 * 23?' });
    const runId = started.body.run_id as string;
    await readSse(`${app.http}/api/agent/${runId}/stream`, { token: api.token });
    const socket = await WsClient.connect(app.ws, { token: api.token });
    await socket.request('get_run_status', { run_id: runId });
    const wsStarted = await socket.request('start_agent', { query: 'What is 1 + 1?' });
    await socket.terminal(wsStarted.payload.run_id);
    await socket.close();

    const [request] = named('POST /api/agent/run_agent');
    expect(request.attributes).toMatchObject({
      'http.route': '/api/agent/run_agent',
      'http.response.status_code': 202,
      'enduser.id': 'tracer',
      // The request that started the run is found by the run's id.
      'netra.run_id': runId,
    });
    const [stream] = named('GET /api/agent/:run_id/stream');
    expect(stream.attributes['netra.run_id']).toBe(runId);

    const [run] = named('run supervisor').filter((s) => s.attributes['netra.run_id'] === runId);
    expect(run.attributes['enduser.id']).toBe('tracer');
    const models = named('model offline').filter((s) => s.attributes['netra.run_id'] === runId);
    expect(models).toHaveLength(2); // the turn that calls the calculator, the one that answers
    for (const model of models) {
      expect(parentOf(model)).toBe(run.spanContext().spanId);
      expect(model.spanContext().traceId).toBe(run.spanContext().traceId);
      expect(model.attributes['gen_ai.usage.input_tokens']).toBeGreaterThan(0);
    }
    const [tool] = named('tool calculator').filter((s) => s.attributes['netra.run_id'] === runId);
    expect(parentOf(tool)).toBe(run.spanContext().spanId);

    const [frame] = named('ws get_run_status');
    expect(frame.attributes).toMatchObject({ 'netra.run_id': runId, 'enduser.id': 'tracer' });
    const [wsStart] = named('ws start_agent');
    expect(wsStart.attributes['netra.run_id']).toBe(wsStarted.payload.run_id);
  });

  it('marks a failed tool call and a refused request as errors', async () => {
    exporter.reset();
    const started = await api.post('/api/agent/run_agent', { query: 'What is 1 / 0?' });
    await readSse(`${app.http}/api/agent/${started.body.run_id}/stream`, { token: api.token });
    expect((await api.get('/api/agent/not-a-run/status')).status).toBe(404);
    const [tool] = named('tool calculator');
    expect(tool.status.code).toBe(2); // SpanStatusCode.ERROR
    const [missing] = named('GET /api/agent/:run_id/status');
    expect(missing.attributes['http.response.status_code']).toBe(404);
  });
});

// The real export path: OTLP over HTTP to whatever OTEL_EXPORTER_OTLP_ENDPOINT names.
describe('OTLP export', () => {
  it('sends spans to the collector at OTEL_EXPORTER_OTLP_ENDPOINT', async () => {
    const received: { path: string; type: string; bytes: number }[] = [];
    const collector = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({
          path: req.url ?? '',
          type: req.headers['content-type'] ?? '',
          bytes: Buffer.concat(chunks).length,
        });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((done) => collector.listen(0, '127.0.0.1', done));
    const { port } = collector.address() as AddressInfo;
    const databaseUrl = await createDatabase();
    const server = await Instance.start('otlp', databaseUrl, {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_BSP_SCHEDULE_DELAY: '100',
    });
    try {
      expect((await fetch(`${server.http}/health/live`)).status).toBe(200);
      await until(() => received.some((r) => r.path === '/v1/traces' && r.bytes > 0), 10_000);
      expect(received.find((r) => r.path === '/v1/traces')?.type).toMatch(/protobuf|json/);
    } finally {
      await server.stop();
      await dropDatabase(databaseUrl);
      collector.close();
    }
  });
});
