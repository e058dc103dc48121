import { freePort } from './support/free-port';
import { RestClient } from './support/rest-client';
import { readSse } from './support/sse-client';
import { startTestApp, TestApp } from './support/test-app';
import { WsClient } from './support/ws-client';

// One sample of the Prometheus text: the value of `name{labels}` (labels in any order), or
// undefined when the series is absent.
function sample(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of text.split('\n')) {
    const match = line.match(/^([a-z_]+)(?:\{(.*)\})? (\S+)$/);
    if (!match || match[1] !== name) continue;
    const given = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => given[k] === v)) return Number(match[3]);
  }
  return undefined;
}

describe('GET /metrics', () => {
  let app: TestApp;
  let api: RestClient;
  const scrape = async () => {
    const res = await fetch(`${app.http}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain;.*version=0\.0\.4/);
    return res.text();
  };

  beforeAll(async () => {
    app = await startTestApp();
    api = new RestClient(app.http, await app.token('ops'));
  });
  afterAll(() => app.close());

  it('counts what the service did: requests, runs, events, model and tool calls, sockets and streams', async () => {
    const before = await scrape();
    const started = await api.post('/api/agent/run_agent', { query: 'What is 17 * 23?' });
    await readSse(`${app.http}/api/agent/${started.body.run_id}/stream`, { token: api.token });
    await api.get(`/api/agent/${started.body.run_id}/status`);
    const socket = await WsClient.connect(app.ws, { token: api.token });
    await socket.request('subscribe', { run_id: started.body.run_id });
    await socket.waitFor((f) => f.type === 'agent_update' && f.payload.type === 'agent_completed');
    const waiting = await api.post('/api/agent/run_agent', { query: 'wait 30 seconds' });
    const controller = new AbortController();
    const stream = await fetch(`${app.http}/api/agent/${waiting.body.run_id}/stream`, {
      headers: { authorization: `Bearer ${api.token}` },
      signal: controller.signal,
    });
    expect(stream.status).toBe(200);

    const after = await scrape();
    const grew = (name: string, labels: Record<string, string>) =>
      (sample(after, name, labels) ?? 0) - (sample(before, name, labels) ?? 0);
    expect(
      grew('netra_http_request_duration_seconds_count', {
        method: 'GET',
        route: '/api/agent/:run_id/status',
        status: '200',
      }),
    ).toBe(1);
    expect(
      grew('netra_http_request_duration_seconds_count', {
        method: 'POST',
        route: '/api/agent/run_agent',
        status: '202',
      }),
    ).toBe(2);
    expect(sample(after, 'netra_websocket_connections')).toBeGreaterThanOrEqual(1);
    expect(sample(after, 'netra_sse_streams')).toBeGreaterThanOrEqual(1);
    // The waiting run: queued until an executor takes it, then running.
    const active = ['queued', 'running'].map((status) => sample(after, 'netra_runs', { status }));
    expect(active[0]! + active[1]!).toBe(1);
    expect(sample(after, 'netra_queue_depth')).toBe(active[0]);
    expect(grew('netra_runs_finished_total', { status: 'complete' })).toBe(1);
    expect(grew('netra_events_persisted_total', { type: 'agent_completed' })).toBe(1);
    expect(grew('netra_events_persisted_total', { type: 'tool_completed' })).toBe(1);
    // The streamed text went through the group commit.
    expect(grew('netra_event_group_commit_runs_count', {})).toBeGreaterThanOrEqual(1);
    expect(grew('netra_events_pushed_total', { channel: 'sse' })).toBeGreaterThanOrEqual(5);
    expect(grew('netra_events_pushed_total', { channel: 'ws' })).toBeGreaterThanOrEqual(5);
    expect(grew('netra_event_commit_to_push_seconds_count', { channel: 'ws' })).toBeGreaterThan(0);
    expect(grew('netra_queue_wait_seconds_count', {})).toBeGreaterThanOrEqual(1);
    expect(
      grew('netra_model_call_duration_seconds_count', { model: 'offline', outcome: 'ok' }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      grew('netra_model_tokens_total', { model: 'offline', direction: 'input' }),
    ).toBeGreaterThan(0);
    expect(
      grew('netra_tool_call_duration_seconds_count', { tool: 'calculator', outcome: 'ok' }),
    ).toBe(1);
    expect(after).toContain('netra_process_resident_memory_bytes');

    controller.abort();
    await socket.close();
    await api.post(`/api/agent/${waiting.body.run_id}/cancel`);
  });

  it('is not part of the API: not in the OpenAPI document', async () => {
    const spec = (await (await fetch(`${app.http}/docs-json`)).json()) as { paths: object };
    expect(Object.keys(spec.paths)).not.toContain('/metrics');
    expect(Object.keys(spec.paths)).not.toContain('/api/metrics');
  });
});

describe('who may read /metrics', () => {
  afterEach(() => {
    delete process.env.METRICS_TOKEN;
    delete process.env.METRICS_PORT;
  });

  it('in production: nobody without METRICS_TOKEN; with it, whoever sends it', async () => {
    const open = await startTestApp({ env: { NODE_ENV: 'production' } });
    try {
      expect((await fetch(`${open.http}/metrics`)).status).toBe(404);
    } finally {
      await open.close();
    }
    const token = 'scraper-token-0123456789';
    const guarded = await startTestApp({ env: { NODE_ENV: 'production', METRICS_TOKEN: token } });
    try {
      expect((await fetch(`${guarded.http}/metrics`)).status).toBe(404);
      const wrong = { authorization: `Bearer ${token.replace('0', '1')}` };
      expect((await fetch(`${guarded.http}/metrics`, { headers: wrong })).status).toBe(404);
      const right = { authorization: `Bearer ${token}` };
      const res = await fetch(`${guarded.http}/metrics`, { headers: right });
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('netra_http_request_duration_seconds');
    } finally {
      await guarded.close();
    }
  });

  it('with METRICS_PORT: on that port only', async () => {
    const port = await freePort();
    const app = await startTestApp({ env: { METRICS_PORT: String(port) } });
    try {
      expect((await fetch(`${app.http}/metrics`)).status).toBe(404);
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('netra_runs{status="queued"}');
      expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
    } finally {
      await app.close();
    }
  });
});
