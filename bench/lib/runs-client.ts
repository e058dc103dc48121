import { Agent, IncomingMessage, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { QUERY } from './product';

// A client of the runs API, as lean as the status figure's generator (node:http, no client
// library): REST start, then the run's SSE stream read frame by frame until its terminal event.
// Both sides (product and baseline) answer the same routes.
const TERMINAL = new Set(['agent_completed', 'agent_error', 'agent_cancelled']);

export interface RunOutcome {
  runId: string;
  // performance.now() when the POST was sent, when its 202 arrived, and when agent_completed did.
  startedAt: number;
  acceptedAt: number;
  completedAt: number;
}

export interface RunsLoad {
  runs: number;
  errors: number;
  seconds: number;
  // Milliseconds from the POST to agent_completed, one per completed run.
  latencies: number[];
}

export interface FollowOptions {
  // Called as each frame arrives, with its event type, performance.now() and the frame's text.
  onEvent?: (type: string, at: number, frame: string) => void;
}

// Starts a run ("What is 17 * 23?" unless told) and follows it to its end; rejects unless it
// completed.
export async function runOnce(
  agent: Agent,
  port: number,
  token: string,
  query = QUERY,
  options: FollowOptions = {},
): Promise<RunOutcome> {
  const startedAt = performance.now();
  const started = await send(agent, port, 'POST', '/api/agent/run_agent', token, { query });
  if (started.status !== 202) throw new Error(`start answered ${started.status}: ${started.body}`);
  const acceptedAt = performance.now();
  const { run_id: runId } = JSON.parse(started.body) as { run_id: string };
  const terminal = await follow(agent, port, token, runId, options);
  if (terminal.type !== 'agent_completed') throw new Error(`run ${runId} ended ${terminal.type}`);
  return { runId, startedAt, acceptedAt, completedAt: terminal.at };
}

// Closed loop: `clients` clients, each starting its next run when the last one completed, for
// `seconds` (a run in flight at the end is waited for and counted).
export async function runsLoop(
  port: number,
  tokens: string[],
  clients: number,
  seconds: number,
): Promise<RunsLoad> {
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async (_, i) => {
      while (performance.now() < deadline) {
        try {
          const run = await runOnce(agent, port, tokens[i % tokens.length]);
          latencies.push(run.completedAt - run.startedAt);
        } catch {
          errors += 1;
        }
      }
    }),
  );
  agent.destroy();
  return {
    runs: latencies.length,
    errors,
    seconds: (performance.now() - started) / 1000,
    latencies,
  };
}

// The run's SSE stream from its start; resolves with its terminal event once the server ended it.
function follow(
  agent: Agent,
  port: number,
  token: string,
  runId: string,
  options: FollowOptions,
): Promise<{ type: string; at: number }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: `/api/agent/${runId}/stream`,
        headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
        agent,
      },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          return reject(new Error(`stream answered ${res.statusCode}`));
        }
        let terminal: { type: string; at: number } | undefined;
        readFrames(res, (type, frame) => {
          const at = performance.now();
          options.onEvent?.(type, at, frame);
          if (TERMINAL.has(type)) terminal ??= { type, at };
        });
        res.on('end', () =>
          terminal ? resolve(terminal) : reject(new Error(`stream of ${runId} ended early`)),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

// Calls `onFrame` with the `event:` of each complete SSE frame (comments and `retry:` have none),
// and the frame.
function readFrames(res: IncomingMessage, onFrame: (type: string, frame: string) => void): void {
  let buffered = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    buffered += chunk;
    let end: number;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const frame = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const line = frame.split('\n').find((l) => l.startsWith('event: '));
      if (line) onFrame(line.slice('event: '.length), frame);
    }
  });
}

function send(
  agent: Agent,
  port: number,
  method: string,
  path: string,
  token: string,
  body: unknown,
): Promise<{ status: number; body: string }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
        },
        agent,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
