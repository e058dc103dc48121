// The bare baseline of the SSE fan-out: node:http, pg and jose. GET /api/agent/{run_id}/stream with
// the same checks as the product (the HS256 bearer token verified with a key made once, the run
// looked up by id and owner, ?after= or Last-Event-ID), the same headers and frames (`retry:`
// first, then `id: <seq>`, `event: <type>`, `data: <event JSON>`), a keep-alive comment as the
// product has, and the run's events from run-feed.mjs: each encoded once and the same bytes written
// to every stream.
import { createSecretKey } from 'node:crypto';
import { createServer } from 'node:http';
import { jwtVerify } from 'jose';
import { RunFeeds } from './run-feed.mjs';

const key = createSecretKey(Buffer.from(process.env.JWT_SECRET, 'utf8'));
const HEARTBEAT_MS = 15_000;
const STREAM = /^\/api\/agent\/([0-9a-f-]{36})\/stream$/;

const feeds = new RunFeeds(process.env.DATABASE_URL, (event) =>
  Buffer.from(`id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`),
);
await feeds.listen();
const streams = new Set();

function answer(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function stream(req, res, runId, url) {
  const header = req.headers.authorization;
  let user;
  try {
    if (!header?.startsWith('Bearer ')) throw new Error('no token');
    const { payload } = await jwtVerify(header.slice(7), key, {
      algorithms: ['HS256'],
      requiredClaims: ['exp', 'sub'],
    });
    user = payload.sub;
  } catch {
    return answer(res, 401, { code: 'unauthorized' });
  }
  const resume = req.headers['last-event-id'] ?? url.searchParams.get('after') ?? '0';
  if (!/^\d{1,9}$/.test(resume)) return answer(res, 400, { code: 'validation_failed' });
  const after = Number(resume);
  const run = await feeds.find(runId, user);
  if (!run) return answer(res, 404, { code: 'not_found' });
  if (run.ended && after >= run.lastSeq) return res.writeHead(204).end();
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write('retry: 2000\n\n');
  const target = { send: (bytes) => res.write(bytes) };
  streams.add(res);
  res.on('close', () => {
    streams.delete(res);
    feeds.leave(runId, target);
  });
  await feeds.join(runId, target, after, run.lastSeq);
  // Closed while it caught up: its close handler ran before it joined.
  if (res.destroyed) feeds.leave(runId, target);
}

const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (url.pathname === '/health/live') return answer(res, 200, { status: 'ok' });
  const match = req.method === 'GET' && STREAM.exec(url.pathname);
  if (!match) return answer(res, 404, { code: 'not_found' });
  stream(req, res, match[1], url).catch(() => {
    if (!res.headersSent) answer(res, 500, { code: 'internal' });
    else res.destroy();
  });
});

setInterval(() => {
  for (const res of streams) res.write(': keep-alive\n\n');
}, HEARTBEAT_MS).unref();

server.listen(Number(process.env.PORT), '127.0.0.1');
