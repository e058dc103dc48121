import { cpuSeconds } from './cpu';
import { closedLoop, Target } from './load';
import { quantile } from './stats';

// One closed-loop measurement of one server.
export interface Sample {
  cpuPerRequestUs: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  // Non-200 answers (and failed requests) besides the ones counted.
  errors: number;
}

// `clients` connections for `seconds`, with the server's CPU time over the same span.
export async function measure(
  pid: number,
  target: Target,
  clients: number,
  seconds: number,
): Promise<Sample> {
  const before = cpuSeconds(pid);
  const result = await closedLoop(target, clients, seconds);
  const cpu = cpuSeconds(pid) - before;
  if (result.requests === 0) throw new Error(`no request answered 200 (${result.errors} errors)`);
  return {
    cpuPerRequestUs: (cpu / result.requests) * 1e6,
    rps: result.requests / result.seconds,
    p50Ms: quantile(result.latencies, 0.5),
    p99Ms: quantile(result.latencies, 0.99),
    errors: result.errors,
  };
}
