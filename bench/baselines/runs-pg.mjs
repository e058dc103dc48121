// The bare baseline of a run end to end (POST /api/agent/run_agent, then GET
// /api/agent/{run_id}/stream until agent_completed): node:http, pg and jose, writing the rows the
// product writes for one run of "What is 17 * 23?" with the offline model, and nothing else.
//
// What the product leaves for such a run (read off the wire, see bench/lib/pg-wire-tap.ts, and the
// code): one rate_limits upsert (the user's run starts), a thread, a run (inserted queued, then
// running, its usage, last_seq and result, complete), the user's and the assistant's messages,
// seven run_events (agent_started, agent_thinking, tool_executing, tool_completed, agent_thinking,
// agent_response_chunk, agent_completed), a run_state checkpoint, and a queue job (pg-boss's
// job_common row: inserted, active, heartbeat, completed). Here the job is a row of the baseline's
// own table (a pg-boss job in the product's schema would be taken by the product's workers).
//
// A lean implementation writes them in three transactions, each one statement:
//   1. the start, before the 202: the rate-limit upsert, then (under the user's advisory lock, with
//      the count of the user's unfinished runs that bounds them) the thread, the run, the user's
//      message and the job;
//   2. the claim: the run running with its attempt, its agent_started event, the job active;
//   3. the rest of the run, which the offline model produces at once: six events, the checkpoint,
//      the usage, the assistant's message, the run complete, the job completed.
// Events reach the streams after their commit, straight from the process that wrote them (one
// process: no NOTIFY, no re-read); a stream that opens later reads them from run_events.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { jwtVerify } from 'jose';
import pg from 'pg';

const key = new TextEncoder().encode(process.env.JWT_SECRET);
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 20 });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const RUN_STARTS_LIMIT = Number(process.env.RATE_LIMIT_RUN_STARTS ?? 30);
const MAX_ACTIVE_RUNS = Number(process.env.MAX_ACTIVE_RUNS ?? 10);
const TERMINAL = new Set(['agent_completed', 'agent_error', 'agent_cancelled']);
const MODEL = 'offline';
const USAGE = { [MODEL]: { input_tokens: 237, output_tokens: 54 } };

await pool.query(`CREATE TABLE IF NOT EXISTS bench_run_jobs (
  id uuid PRIMARY KEY, run_id uuid NOT NULL, state varchar(16) NOT NULL,
  created_on timestamptz NOT NULL DEFAULT now(), started_on timestamptz, completed_on timestamptz)`);

// Streams open on each run: the run's committed events are handed to them.
const followers = new Map();

async function user(req) {
  const header = req.headers.authorization;
  if (!header?.startsWith('Bearer ')) return null;
  try {
    const { payload } = await jwtVerify(header.slice(7), key, {
      algorithms: ['HS256'],
      requiredClaims: ['exp', 'sub'],
    });
    return payload.sub;
  } catch {
    return null;
  }
}

function json(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (text += chunk));
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
}

// 1. The start, in one transaction.
async function start(userId, query) {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const {
      rows: [limit],
    } = await client.query(
      `INSERT INTO rate_limits (key, hits, expires_at) VALUES ($1, 1, now() + interval '60 s')
       ON CONFLICT (key) DO UPDATE SET
         hits = CASE WHEN rate_limits.expires_at <= now() THEN 1 ELSE rate_limits.hits + 1 END,
         expires_at = CASE WHEN rate_limits.expires_at <= now() THEN EXCLUDED.expires_at
                           ELSE rate_limits.expires_at END
       RETURNING hits`,
      [`starts:user:${userId}`],
    );
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`runs:${userId}`]);
    const {
      rows: [active],
    } = await client.query(
      `SELECT count(*)::int AS n FROM runs
       WHERE user_id = $1 AND status IN ('queued', 'running', 'requires_action')`,
      [userId],
    );
    if (limit.hits > RUN_STARTS_LIMIT || active.n >= MAX_ACTIVE_RUNS) {
      await client.query('ROLLBACK');
      return null;
    }
    const run = { id: randomUUID(), threadId: randomUUID(), jobId: randomUUID(), userId, query };
    await client.query(
      `WITH t AS (
         INSERT INTO threads (id, user_id, title) VALUES ($2, $1, $4)
       ), r AS (
         INSERT INTO runs (id, user_id, thread_id, query, status, agent, job_id)
         VALUES ($3, $1, $2, $5, 'queued', 'supervisor', $6)
       ), m AS (
         INSERT INTO messages (user_id, thread_id, role, content, run_id)
         VALUES ($1, $2, 'user', $5, $3)
       )
       INSERT INTO bench_run_jobs (id, run_id, state) VALUES ($6, $3, 'created')`,
      [userId, run.threadId, run.id, query.split('\n')[0].slice(0, 80), query, run.jobId],
    );
    await client.query('COMMIT');
    return run;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

// What the offline model does with "What is a * b?": one calculator call, then the answer.
function turns(query) {
  const match = /(-?\d+(?:\.\d+)?)\s*([-+*/])\s*(-?\d+(?:\.\d+)?)/.exec(query);
  const expression = match ? `${match[1]} ${match[2]} ${match[3]}` : '0 + 0';
  const [a, op, b] = match ? [Number(match[1]), match[2], Number(match[3])] : [0, '+', 0];
  const value = op === '+' ? a + b : op === '-' ? a - b : op === '*' ? a * b : a / b;
  const callId = randomUUID();
  const call = { tool: 'calculator', call_id: callId, arguments: { expression } };
  const answer = `${expression} = ${value}.`;
  return {
    answer,
    events: [
      {
        type: 'agent_thinking',
        data: {
          step: 1,
          text: `The question "${query}" needs calculator ${JSON.stringify({ expression })}.`,
        },
      },
      { type: 'tool_executing', data: call },
      { type: 'tool_completed', data: { ...call, result: { value, expression }, is_error: false } },
      {
        type: 'agent_thinking',
        data: { step: 2, text: 'I have the result from calculator; I can answer now.' },
      },
      { type: 'agent_response_chunk', data: { step: 2, text: answer } },
      {
        type: 'agent_completed',
        data: { answer, usage: { input_tokens: 237, output_tokens: 54, models: USAGE } },
      },
    ],
    checkpoint: {
      version: 2,
      frames: [
        {
          agent: 'supervisor',
          step: 2,
          queue: [],
          messages: [
            { role: 'user', content: query },
            {
              role: 'assistant',
              content: '',
              toolCalls: [{ id: callId, name: 'calculator', arguments: { expression } }],
            },
            {
              role: 'tool',
              toolCallId: callId,
              toolName: 'calculator',
              content: JSON.stringify({ value, expression }),
              isError: false,
            },
          ],
        },
      ],
    },
  };
}

const EVENT_COLUMNS = 'run_id, thread_id, seq, type, agent_name, data, created_at';

// 2 and 3: the claim, then the rest, each one statement (one commit); the events go to the open
// streams once committed.
async function execute(run) {
  const { rows: started } = await pool.query(
    `WITH r AS (
       UPDATE runs SET status = 'running', attempt = attempt + 1, last_seq = 1,
         started_at = now(), updated_at = now()
       WHERE id = $1 AND status = 'queued' RETURNING id, user_id, thread_id, agent
     ), j AS (
       UPDATE bench_run_jobs SET state = 'active', started_on = now() WHERE id = $2
     )
     INSERT INTO run_events (run_id, seq, user_id, thread_id, type, agent_name, data)
     SELECT id, 1, user_id, thread_id, 'agent_started', agent, $3::jsonb FROM r
     RETURNING ${EVENT_COLUMNS}`,
    [run.id, run.jobId, JSON.stringify({ agent: 'supervisor', model: MODEL, query: run.query })],
  );
  deliver(run.id, started);
  const { answer, events, checkpoint } = turns(run.query);
  const { rows: rest } = await pool.query(
    `WITH r AS (
       UPDATE runs SET status = 'complete', result = $4, usage = $5::jsonb, last_seq = 7,
         updated_at = now(), finished_at = now()
       WHERE id = $1 AND status = 'running' RETURNING id, user_id, thread_id, agent
     ), s AS (
       INSERT INTO run_state (run_id, user_id, state, version)
       SELECT id, user_id, $6::jsonb, 2 FROM r
       ON CONFLICT (run_id) DO UPDATE SET state = EXCLUDED.state, updated_at = now()
     ), m AS (
       INSERT INTO messages (user_id, thread_id, role, content, run_id)
       SELECT user_id, thread_id, 'assistant', $4, id FROM r
     ), j AS (
       UPDATE bench_run_jobs SET state = 'completed', completed_on = now() WHERE id = $2
     )
     INSERT INTO run_events (run_id, seq, user_id, thread_id, type, agent_name, data)
     SELECT r.id, 1 + e.ord, r.user_id, r.thread_id, e.v ->> 'type', r.agent, e.v -> 'data'
     FROM r CROSS JOIN jsonb_array_elements($3::jsonb) WITH ORDINALITY AS e(v, ord)
     RETURNING ${EVENT_COLUMNS}`,
    [
      run.id,
      run.jobId,
      JSON.stringify(events),
      answer,
      JSON.stringify(USAGE),
      JSON.stringify(checkpoint),
    ],
  );
  deliver(run.id, rest);
}

function deliver(runId, rows) {
  const events = rows.map(toEvent).sort((a, b) => a.seq - b.seq);
  for (const push of followers.get(runId) ?? []) push(events);
}

function toEvent(row) {
  return {
    run_id: row.run_id,
    thread_id: row.thread_id,
    seq: row.seq,
    type: row.type,
    agent_name: row.agent_name,
    data: row.data,
    timestamp: row.created_at.toISOString(),
  };
}

// The run's events from the start, then live ones, ending after the terminal event. Subscribed
// before the read, so an event committed in between is not missed (or sent twice: by seq).
async function stream(req, res, userId, runId) {
  let last = 0;
  let replayed = false;
  const held = [];
  const write = (events) => {
    for (const event of events) {
      if (event.seq !== last + 1) continue;
      last = event.seq;
      res.write(`id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
      if (TERMINAL.has(event.type)) return end();
    }
  };
  const push = (events) => (replayed ? write(events) : held.push(...events));
  const end = () => {
    followers.get(runId)?.delete(push);
    if (followers.get(runId)?.size === 0) followers.delete(runId);
    res.end();
  };
  if (!followers.has(runId)) followers.set(runId, new Set());
  followers.get(runId).add(push);
  res.on('close', () => followers.get(runId)?.delete(push));
  // The run (owned by the user) and its stored events, in one read.
  const { rows } = await pool.query(
    `SELECT r.id AS found, e.run_id, e.thread_id, e.seq, e.type, e.agent_name, e.data, e.created_at
     FROM runs r LEFT JOIN run_events e ON e.run_id = r.id
     WHERE r.id = $1 AND r.user_id = $2 ORDER BY e.seq`,
    [runId, userId],
  );
  if (rows.length === 0) {
    followers.get(runId)?.delete(push);
    return json(res, 404, { code: 'not_found' });
  }
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
  });
  res.write('retry: 2000\n\n');
  write(rows.filter((row) => row.seq !== null).map(toEvent));
  replayed = true;
  if (!res.writableEnded) write(held.sort((a, b) => a.seq - b.seq));
}

const server = createServer(async (req, res) => {
  try {
    if (req.url === '/health/live') return json(res, 200, { status: 'ok' });
    const userId = await user(req);
    if (!userId) return json(res, 401, { code: 'unauthorized' });
    if (req.method === 'POST' && req.url === '/api/agent/run_agent') {
      const body = JSON.parse(await readBody(req));
      if (typeof body.query !== 'string' || !body.query)
        return json(res, 400, { code: 'validation_failed' });
      const run = await start(userId, body.query);
      if (!run) return json(res, 429, { code: 'rate_limited' });
      json(res, 202, {
        run_id: run.id,
        thread_id: run.threadId,
        status: 'started',
        replayed: false,
      });
      execute(run).catch((err) => console.error(`run ${run.id}: ${err.stack}`));
      return;
    }
    const match = /^\/api\/agent\/([^/]+)\/stream$/.exec(req.url ?? '');
    if (req.method === 'GET' && match) {
      if (!UUID.test(match[1])) return json(res, 404, { code: 'not_found' });
      return await stream(req, res, userId, match[1]);
    }
    json(res, 404, { code: 'not_found' });
  } catch (err) {
    console.error(err.stack);
    if (!res.headersSent) json(res, 500, { code: 'internal' });
    else res.end();
  }
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT), '127.0.0.1');
