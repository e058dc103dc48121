// The bare baseline of GET /api/agent/{run_id}/status: Express 5, pg and a JWT library, doing the
// same work as the product (verify the HS256 bearer token with a key made once, read the run by id
// and owner, answer the same JSON), and nothing else: no logging, no request scope, no ORM.
// JWT_LIBRARY picks the library: `jose` (the default, what the product uses) or `jsonwebtoken`
// (what the requests/s target is against). One file, so that the two differ in the verify
// and nothing else.
import express from 'express';
import { jwtVerify } from 'jose';
import jsonwebtoken from 'jsonwebtoken';
import pg from 'pg';

const verifiers = {
  jose: () => {
    const key = new TextEncoder().encode(process.env.JWT_SECRET);
    return async (token) => {
      const { payload } = await jwtVerify(token, key, {
        algorithms: ['HS256'],
        requiredClaims: ['exp', 'sub'],
      });
      return payload.sub;
    };
  },
  jsonwebtoken: () => {
    const secret = process.env.JWT_SECRET;
    // Synchronous, as an Express app would call it (the `await` below costs it one microtask).
    return (token) => {
      const payload = jsonwebtoken.verify(token, secret, { algorithms: ['HS256'] });
      // jose's requiredClaims: jsonwebtoken checks exp only when it is there.
      if (typeof payload.exp !== 'number' || typeof payload.sub !== 'string') {
        throw new Error('exp and sub are required');
      }
      return payload.sub;
    };
  },
};
const library = process.env.JWT_LIBRARY ?? 'jose';
if (!verifiers[library]) throw new Error(`JWT_LIBRARY must be one of ${Object.keys(verifiers)}`);
const verify = verifiers[library]();
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 20 });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const app = express();
app.get('/health/live', (_req, res) => res.json({ status: 'ok' }));
app.get('/api/agent/:id/status', async (req, res) => {
  const header = req.headers.authorization;
  let user;
  try {
    if (!header?.startsWith('Bearer ')) throw new Error('no token');
    user = await verify(header.slice(7));
  } catch {
    return res.status(401).json({ code: 'unauthorized' });
  }
  if (!UUID.test(req.params.id)) return res.status(404).json({ code: 'not_found' });
  const { rows } = await pool.query(
    `SELECT id, thread_id, status, query, client_run_id, agent, model, usage, result, error,
            created_at, updated_at, started_at, finished_at
     FROM runs WHERE id = $1 AND user_id = $2`,
    [req.params.id, user],
  );
  const run = rows[0];
  if (!run) return res.status(404).json({ code: 'not_found' });
  const models = Object.values(run.usage);
  res.json({
    run_id: run.id,
    thread_id: run.thread_id,
    status: run.status,
    query: run.query,
    client_run_id: run.client_run_id,
    agent: run.agent,
    model: run.model,
    usage: {
      input_tokens: models.reduce((n, m) => n + m.input_tokens, 0),
      output_tokens: models.reduce((n, m) => n + m.output_tokens, 0),
      models: run.usage,
    },
    created_at: run.created_at.toISOString(),
    updated_at: run.updated_at.toISOString(),
    started_at: run.started_at?.toISOString() ?? null,
    finished_at: run.finished_at?.toISOString() ?? null,
    ...(run.result !== null ? { result: run.result } : {}),
    ...(run.error !== null ? { error: run.error } : {}),
  });
});
app.listen(Number(process.env.PORT), '127.0.0.1');
