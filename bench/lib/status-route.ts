import { PRODUCT_MAIN, productEnv } from './product';
import { Target } from './load';
import { Server, startServer } from './server';
import { signToken } from './tokens';

// GET /api/agent/{run_id}/status as the status and scope figures measure it: the product started
// on a fresh database, a token of its secret, and one finished run every server reads.
export { ROOT } from './product';

export interface StatusRoute {
  product: Server;
  // What every server of the figure runs with: the product's database and secret.
  env: Record<string, string>;
  target(server: Server): Target;
}

// Users making runs at once while the route is set up.
const SETUP_CONCURRENCY = 25;

// Starts the product on `database` and makes one run for each of `users` users (bench, or
// bench-0..n-1), whose requests then take turns; the caller stops `product`.
export async function statusRoute(database: string, port: number, users = 1): Promise<StatusRoute> {
  const env = productEnv(database);
  const product = await startServer('product', port, [PRODUCT_MAIN], env);
  try {
    const names = users === 1 ? ['bench'] : Array.from({ length: users }, (_, i) => `bench-${i}`);
    const each: { path: string; headers: Record<string, string> }[] = [];
    for (let i = 0; i < names.length; i += SETUP_CONCURRENCY) {
      const batch = names.slice(i, i + SETUP_CONCURRENCY);
      each.push(
        ...(await Promise.all(
          batch.map(async (name) => {
            const token = await signToken(name);
            const runId = await finishedRun(product.port, token);
            return {
              path: `/api/agent/${runId}/status`,
              headers: { authorization: `Bearer ${token}` },
            };
          }),
        )),
      );
    }
    return {
      product,
      env,
      target: (server) => ({ port: server.port, ...each[0], each }),
    };
  } catch (err) {
    await product.stop();
    throw err;
  }
}

// A finished run of the user: the row every server reads.
async function finishedRun(port: number, token: string): Promise<string> {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const started = await fetch(`http://127.0.0.1:${port}/api/agent/run_agent`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ query: 'What is 17 * 23?' }),
  }).then((r) => r.json() as Promise<{ run_id: string }>);
  // The SSE stream ends with the run's terminal event.
  const stream = await fetch(`http://127.0.0.1:${port}/api/agent/${started.run_id}/stream`, {
    headers,
  });
  await stream.text();
  return started.run_id;
}
