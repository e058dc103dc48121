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

// Starts the product on `database` and makes the run; the caller stops `product`.
export async function statusRoute(database: string, port: number): Promise<StatusRoute> {
  const env = productEnv(database);
  const product = await startServer('product', port, [PRODUCT_MAIN], env);
  try {
    const token = await signToken('bench');
    const runId = await finishedRun(product.port, token);
    return {
      product,
      env,
      target: (server) => ({
        port: server.port,
        path: `/api/agent/${runId}/status`,
        headers: { authorization: `Bearer ${token}` },
      }),
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
