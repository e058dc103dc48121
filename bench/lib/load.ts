import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  // Milliseconds, one per completed request.
  latencies: number[];
}

export interface Request {
  path: string;
  headers: Record<string, string>;
}

export interface Target extends Request {
  port: number;
  // Many users: requests take these in turn instead of `path` and `headers`.
  each?: readonly Request[];
}

// Where each target's next request is in `each`.
const turns = new WeakMap<Target, number>();

function nextRequest(target: Target): Request {
  if (!target.each?.length) return target;
  const turn = turns.get(target) ?? 0;
  turns.set(target, turn + 1);
  return target.each[turn % target.each.length];
}

// One GET over a kept-alive connection; resolves with its status once the body is read.
function get(agent: Agent, target: Target): Promise<number> {
  const { path, headers } = nextRequest(target);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: target.port, path, headers, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

// Closed loop: `clients` connections, each sending its next request when the last is answered,
// for `seconds`. The lean generator (node:http, no client library) keeps its own cost low.
export async function closedLoop(
  target: Target,
  clients: number,
  seconds: number,
): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        const status = await get(agent, target).catch(() => 0);
        if (status === 200) latencies.push(performance.now() - t0);
        else errors += 1;
      }
    }),
  );
  agent.destroy();
  return resultOf(latencies, errors, started);
}

// Open loop at a fixed rate: a request every 1/rate s whether or not earlier ones are answered,
// so a slow server shows up as latency (no coordinated omission).
export async function fixedRate(
  target: Target,
  perSecond: number,
  seconds: number,
): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const total = Math.max(1, Math.round(perSecond * seconds));
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(
      get(agent, target).then(
        (status) => {
          if (status === 200) latencies.push(performance.now() - due);
          else errors += 1;
        },
        () => {
          errors += 1;
        },
      ),
    );
  }
  await Promise.all(pending);
  agent.destroy();
  return resultOf(latencies, errors, started);
}

function resultOf(latencies: number[], errors: number, started: number): LoadResult {
  return {
    requests: latencies.length,
    errors,
    seconds: (performance.now() - started) / 1000,
    latencies,
  };
}
