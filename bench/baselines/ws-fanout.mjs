// The bare baseline of the WebSocket fan-out: node:http, ws, pg and jose. The same handshake check
// as the product (the HS256 bearer token, in the Authorization header or ?token=, verified with a
// key made once, before the upgrade), the same `subscribe` frame and ack (the run looked up by id
// and owner), a heartbeat ping and a close at the token's expiry as the product has, and the run's
// events from run-feed.mjs: each serialised once and the same bytes sent to every socket.
import { createSecretKey } from 'node:crypto';
import { createServer } from 'node:http';
import { jwtVerify } from 'jose';
import { WebSocketServer } from 'ws';
import { RunFeeds } from './run-feed.mjs';

const key = createSecretKey(Buffer.from(process.env.JWT_SECRET, 'utf8'));
const HEARTBEAT_MS = 30_000;

const feeds = new RunFeeds(process.env.DATABASE_URL, (event) =>
  Buffer.from(JSON.stringify({ type: 'agent_update', payload: event })),
);
await feeds.listen();

const server = createServer((req, res) => {
  const found = req.url === '/health/live';
  res.writeHead(found ? 200 : 404, { 'content-type': 'application/json' });
  res.end(found ? '{"status":"ok"}' : '{"code":"not_found"}');
});
const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });

async function userOf(req, url) {
  const header = req.headers.authorization;
  const token = header?.startsWith('Bearer ') ? header.slice(7) : url.searchParams.get('token');
  const { payload } = await jwtVerify(token ?? '', key, {
    algorithms: ['HS256'],
    requiredClaims: ['exp', 'sub'],
  });
  return { id: payload.sub, expiresAt: payload.exp * 1000 };
}

server.on('upgrade', (req, socket, head) => {
  const url = new URL(req.url, 'http://localhost');
  if (url.pathname !== '/ws') return socket.destroy();
  userOf(req, url).then(
    (user) => wss.handleUpgrade(req, socket, head, (ws) => connected(ws, user)),
    () => socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n'),
  );
});

function connected(ws, user) {
  const runs = new Set();
  // A target of the feed: the event's bytes as a text frame.
  const target = { send: (bytes) => ws.send(bytes, { binary: false }) };
  const reply = (frame) => ws.send(JSON.stringify(frame));
  ws.alive = true;
  ws.on('pong', () => (ws.alive = true));
  const expiry = setTimeout(() => ws.close(4401, 'token expired'), user.expiresAt - Date.now());
  ws.on('message', async (data) => {
    let frame;
    try {
      frame = JSON.parse(data.toString('utf8'));
    } catch {
      return reply({ type: 'error', payload: { code: 'bad_frame' } });
    }
    const { type, payload, request_id } = frame;
    if (type !== 'subscribe' || typeof payload?.run_id !== 'string')
      return reply({ type: 'error', request_id, payload: { code: 'unknown_type' } });
    const after = Number.isInteger(payload.after) && payload.after >= 0 ? payload.after : 0;
    const run = await feeds.find(payload.run_id, user.id).catch(() => null);
    if (!run) return reply({ type: 'error', request_id, payload: { code: 'not_found' } });
    const ended = run.ended && after >= run.lastSeq;
    reply({ type: 'ack', request_id, payload: { run_id: payload.run_id, after, ended } });
    if (ended || ws.readyState !== ws.OPEN) return;
    runs.add(payload.run_id);
    await feeds.join(payload.run_id, target, after, run.lastSeq);
    // Closed while it caught up: its close handler ran before it joined.
    if (ws.readyState !== ws.OPEN) feeds.leave(payload.run_id, target);
  });
  ws.on('close', () => {
    clearTimeout(expiry);
    for (const runId of runs) feeds.leave(runId, target);
  });
}

setInterval(() => {
  for (const ws of wss.clients) {
    if (!ws.alive) ws.terminate();
    ws.alive = false;
    ws.ping();
  }
}, HEARTBEAT_MS).unref();

server.listen(Number(process.env.PORT), '127.0.0.1');
