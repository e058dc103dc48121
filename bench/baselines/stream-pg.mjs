// The bare baselines of the `stream` figure: node:http, pg and jose doing the durable job the
// product does for a streaming answer, as lean code would, and nothing else. POST
// /api/agent/run_agent starts a run (a row, then 202); the run calls the OpenAI-compatible provider
// (LLM_BASE_URL) and streams its deltas, coalesced as the product coalesces them (the first at once,
// then at most every 50 ms or 200 characters, one write in flight per run, what arrives meanwhile
// merged into the next), each write committed with a NOTIFY naming its events; GET
// /api/agent/{run_id}/stream reads what is committed and follows the notifications (the events
// they carry, or a read on a gap) until the run's terminal event. Commit, then push.
//
// COMMIT=each: one transaction and one NOTIFY per write (one statement each). COMMIT=group: one
// writer commits every run's pending writes together, one statement and one NOTIFY per commit, at
// most every 20 ms while busy (at once when idle): the floor group commit gives.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { jwtVerify } from 'jose';
import pg from 'pg';

const key = new TextEncoder().encode(process.env.JWT_SECRET);
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 20 });
const GROUP = process.env.COMMIT === 'group';
const BASE_URL = process.env.LLM_BASE_URL;
const CHANNEL = 'bench_stream_events';
const TERMINAL = new Set(['agent_completed', 'agent_error']);
const FLOOR_MS = 20;

await pool.query(`CREATE TABLE IF NOT EXISTS bench_stream_runs (
  id uuid PRIMARY KEY, user_id text NOT NULL, query text NOT NULL, status varchar(16) NOT NULL,
  last_seq int NOT NULL DEFAULT 0, result text, created_at timestamptz NOT NULL DEFAULT now())`);
await pool.query(`CREATE TABLE IF NOT EXISTS bench_stream_events (
  run_id uuid NOT NULL, seq int NOT NULL, type varchar(32) NOT NULL, data jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (run_id, seq))`);

// Writes events of several runs in one statement: each run's last_seq moves, its events get the
// seqs after it, the run's status changes when asked, and NOTIFYs name them (a payload per 4,000
// bytes of lines, so each stays under PostgreSQL's 8,000 whatever the last line adds).
const WRITE = `WITH i AS (
    SELECT (x ->> 'run')::uuid AS run_id, x -> 'events' AS events, x ->> 'status' AS status
    FROM jsonb_array_elements($1::jsonb) AS x),
  r AS (
    UPDATE bench_stream_runs SET last_seq = last_seq + jsonb_array_length(i.events),
      status = COALESCE(i.status, bench_stream_runs.status)
    FROM i WHERE bench_stream_runs.id = i.run_id
    RETURNING bench_stream_runs.id, bench_stream_runs.last_seq, i.events),
  ins AS (
    INSERT INTO bench_stream_events (run_id, seq, type, data)
    SELECT r.id, r.last_seq - jsonb_array_length(r.events) + e.ord, e.v ->> 'type', e.v -> 'data'
    FROM r CROSS JOIN jsonb_array_elements(r.events) WITH ORDINALITY AS e(v, ord)
    RETURNING run_id, seq, type, data, created_at),
  lines AS (
    SELECT run_id::text || ':' || max(seq) || ':' || json_agg(json_build_object(
      'run_id', run_id, 'seq', seq, 'type', type, 'data', data, 'timestamp', created_at)
      ORDER BY seq)::text AS line
    FROM ins GROUP BY run_id),
  packed AS (
    SELECT string_agg(line, E'\\n') AS payload
    FROM (SELECT line, sum(octet_length(line) + 1) OVER (ORDER BY line) / 4000 AS part FROM lines) p
    GROUP BY part)
  SELECT count(pg_notify('${CHANNEL}', payload)) AS notified FROM packed`;

function write(entries) {
  return pool.query(WRITE, [JSON.stringify(entries)]);
}

// COMMIT=group: what waits for the next commit, and when the last one started.
let waiting = [];
let committing = false;
let lastStart = -Infinity;
let timer;

function commitGrouped(entry) {
  return new Promise((resolve, reject) => {
    waiting.push({ entry, resolve, reject });
    schedule();
  });
}

function schedule() {
  if (committing || timer || waiting.length === 0) return;
  const wait = lastStart + FLOOR_MS - performance.now();
  if (wait <= 0) void commitNow();
  else timer = setTimeout(() => ((timer = undefined), void commitNow()), wait);
}

async function commitNow() {
  const batch = waiting;
  waiting = [];
  committing = true;
  lastStart = performance.now();
  try {
    await write(batch.map((w) => w.entry));
    for (const w of batch) w.resolve();
  } catch (err) {
    for (const w of batch) w.reject(err);
  } finally {
    committing = false;
    schedule();
  }
}

const commit = (entry) => (GROUP ? commitGrouped(entry) : write([entry]));

// One run: agent_started, the provider's deltas coalesced, agent_completed with the run complete.
async function execute(runId, query) {
  await commit({
    run: runId,
    status: 'running',
    events: [{ type: 'agent_started', data: { query } }],
  });
  let held = '';
  let inFlight = null;
  let due = false;
  let first = true;
  let timer;
  let answer = '';
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (!held) return;
    if (inFlight) return void (due = true);
    const text = held;
    held = '';
    due = false;
    inFlight = commit({
      run: runId,
      events: [{ type: 'agent_response_chunk', data: { text, step: 1 } }],
    }).then(
      () => {
        inFlight = null;
        if (due || held.length >= 200) flush();
      },
      (err) => {
        inFlight = null;
        console.error(`run ${runId}: ${err.message}`);
      },
    );
  };
  const res = await fetch(`${BASE_URL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'bench',
      stream: true,
      messages: [{ role: 'user', content: query }],
    }),
  });
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const bytes of res.body) {
    buffered += decoder.decode(bytes, { stream: true });
    let end;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const frame = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      if (!frame.startsWith('data: ') || frame === 'data: [DONE]') continue;
      const text = JSON.parse(frame.slice(6)).choices?.[0]?.delta?.content;
      if (!text) continue;
      answer += text;
      held += text;
      if (first || held.length >= 200) {
        first = false;
        flush();
      } else timer ??= setTimeout(flush, 50);
    }
  }
  flush();
  while (inFlight) await inFlight;
  await commit({
    run: runId,
    status: 'complete',
    events: [{ type: 'agent_completed', data: { answer } }],
  });
}

// The streams open on each run, and the seq each has sent.
const followers = new Map();

function deliver(runId, events) {
  for (const f of followers.get(runId) ?? []) f.take(events);
}

const listener = new pg.Client({ connectionString: process.env.DATABASE_URL });
await listener.connect();
listener.on('notification', ({ payload }) => {
  for (const line of payload.split('\n')) {
    const runId = line.slice(0, 36);
    if (!followers.has(runId)) continue;
    const json = line.indexOf(':', 37);
    deliver(runId, JSON.parse(line.slice(json + 1)));
  }
});
await listener.query(`LISTEN ${CHANNEL}`);

async function read(runId, after) {
  const { rows } = await pool.query(
    `SELECT run_id, seq, type, data, created_at AS timestamp FROM bench_stream_events
     WHERE run_id = $1 AND seq > $2 ORDER BY seq`,
    [runId, after],
  );
  return rows;
}

function follow(res, runId) {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.write('retry: 1000\n\n');
  let last = 0;
  let reading = false;
  let done = false;
  const send = (events) => {
    for (const e of events) {
      if (done || e.seq !== last + 1) continue;
      last = e.seq;
      res.write(`id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
      if (TERMINAL.has(e.type)) {
        done = true;
        followers.get(runId)?.delete(f);
        res.end();
      }
    }
  };
  const catchUp = async () => {
    if (reading || done) return;
    reading = true;
    try {
      send(await read(runId, last));
    } finally {
      reading = false;
    }
  };
  const f = {
    take(events) {
      if (events[0].seq > last + 1) void catchUp();
      else send(events);
    },
  };
  if (!followers.has(runId)) followers.set(runId, new Set());
  followers.get(runId).add(f);
  res.on('close', () => followers.get(runId)?.delete(f));
  void catchUp();
}

async function user(req) {
  const header = req.headers.authorization;
  if (!header?.startsWith('Bearer ')) return null;
  try {
    const { payload } = await jwtVerify(header.slice(7), key, { algorithms: ['HS256'] });
    return payload.sub;
  } catch {
    return null;
  }
}

const server = createServer(async (req, res) => {
  try {
    if (req.url === '/health/live') return void res.end('ok');
    const sub = await user(req);
    if (!sub) return void res.writeHead(401).end();
    if (req.method === 'POST' && req.url === '/api/agent/run_agent') {
      let body = '';
      for await (const chunk of req) body += chunk;
      const { query } = JSON.parse(body);
      const runId = randomUUID();
      await pool.query(
        `INSERT INTO bench_stream_runs (id, user_id, query, status) VALUES ($1, $2, $3, 'queued')`,
        [runId, sub, query],
      );
      res.writeHead(202, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ run_id: runId, status: 'queued' }));
      void execute(runId, query).catch((err) => console.error(`run ${runId}: ${err.message}`));
      return;
    }
    const match = /^\/api\/agent\/([0-9a-f-]{36})\/stream/.exec(req.url ?? '');
    if (req.method === 'GET' && match) return follow(res, match[1]);
    res.writeHead(404).end();
  } catch (err) {
    res.writeHead(500).end(String(err));
  }
});
server.listen(Number(process.env.PORT), '127.0.0.1');
