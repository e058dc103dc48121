import type { IncomingMessage, Server } from 'node:http';
import { Agent, request } from 'node:http';
import { setImmediate as turn } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startTestApp, TestApp } from './support/test-app';

// V8's collector, callable from here: a full collection before counting what is still reachable.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const CONNECTIONS = 10;

// Timers armed while a request is handled keep the async context they were armed in: the socket's
// keep-alive timeout (5 s), the pool's idle-client timeout (10 s). Whatever that context holds lives
// as long; with the request in it, every request's whole object graph outlived the request and was
// promoted to the old generation. The request must be collectable once it is answered, however long
// its connection stays open.
describe('memory of answered requests', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startTestApp()));
  afterAll(() => t.close());

  it('keeps no answered request reachable while its kept-alive connection stays open', async () => {
    const token = await t.token('mia');
    const answered: WeakRef<IncomingMessage>[] = [];
    const server = t.app.getHttpServer() as Server;
    const seen = (req: IncomingMessage) => answered.push(new WeakRef(req));
    server.on('request', seen);
    // One authenticated request on each of several connections, all left open.
    const agents = Array.from({ length: CONNECTIONS }, () => new Agent({ keepAlive: true }));
    try {
      const statuses = await Promise.all(agents.map((agent) => threads(t.http, token, agent)));
      expect(statuses).toEqual(Array(CONNECTIONS).fill(200));
      expect(answered).toHaveLength(CONNECTIONS);

      for (let i = 0; i < 3; i++) {
        gc();
        await turn(); // finalisation of what the collection found dead
      }
      const reachable = answered.filter((ref) => ref.deref() !== undefined).length;
      expect(reachable).toBe(0);
    } finally {
      server.off('request', seen);
      agents.forEach((agent) => agent.destroy());
    }
  });
});

function threads(base: string, token: string, agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}/api/threads`,
      { agent, headers: { authorization: `Bearer ${token}` } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
}
