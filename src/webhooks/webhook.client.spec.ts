import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { postWebhook } from './webhook.client';

// postWebhook against real sockets on this machine (private addresses allowed, as in a test).
describe('postWebhook', () => {
  let server: Server;
  let url: string;
  let trickle: NodeJS.Timeout | undefined;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/trickle') {
        // Answers, then keeps sending a byte now and then and never ends.
        res.writeHead(200);
        trickle = setInterval(() => res.write('.'), 20);
        return;
      }
      if (req.url === '/moved') return res.writeHead(302, { location: '/ok' }).end();
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    clearInterval(trickle);
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const options = { allowPrivate: true, timeoutMs: 300 };

  it("gives the receiver's status", async () => {
    await expect(postWebhook(`${url}/ok`, '{}', {}, options)).resolves.toMatchObject({
      status: 204,
    });
  });

  it('does not follow a redirect: it is the answer', async () => {
    await expect(postWebhook(`${url}/moved`, '{}', {}, options)).resolves.toMatchObject({
      status: 302,
    });
  });

  it('cuts off a receiver that trickles bytes past the deadline', async () => {
    await expect(postWebhook(`${url}/trickle`, '{}', {}, options)).rejects.toThrow(
      'no answer within 300 ms',
    );
  });

  it('refuses to connect to a private address unless allowed', async () => {
    await expect(
      postWebhook(
        `http://localhost:${new URL(url).port}/ok`,
        '{}',
        {},
        { ...options, allowPrivate: false },
      ),
    ).rejects.toThrow(/non-public address/);
  });
});
