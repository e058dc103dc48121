import { once } from 'node:events';
import { request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Channel, Subscriber } from './subscriber';

// GET /api/agent/{run_id}/stream?after=N with the token in the Authorization header, one
// connection per stream (as browsers' EventSources each hold one). Subscribed at the first bytes of
// the body (both sides write `retry:` first, once the stream follows the run); each `id:` block
// after that is an event, its id the seq.
export const sseChannel: Channel = {
  name: 'SSE',
  open(port, token, runId, after, sink): Promise<Subscriber> {
    return new Promise((resolve, reject) => {
      let closing = false;
      let open = false;
      let ended = false;
      const req = request({
        host: '127.0.0.1',
        port,
        path: `/api/agent/${runId}/stream?after=${after}`,
        headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
        agent: false,
      });
      // Before the first bytes a failure refuses the subscription; after them it ends the stream
      // (one problem, however many of error and close report it).
      const failed = (what: Error) => {
        if (!open) return reject(what);
        if (closing || ended) return;
        ended = true;
        sink.problem(what.message);
      };
      req.on('error', failed);
      req.on('response', (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          return reject(new Error(`stream answered ${res.statusCode}`));
        }
        res.setEncoding('utf8');
        const socket = res.socket;
        const subscriber: Subscriber = {
          async close() {
            closing = true;
            if (socket.destroyed) return;
            // Half-closed: the server answers our FIN by ending the response and the connection,
            // so its close is seen here once it has let go of the stream.
            const closed = once(socket, 'close');
            socket.end();
            await closed;
          },
        };
        let buffered = '';
        res.on('data', (chunk: string) => {
          const at = performance.now();
          if (!open) {
            open = true;
            resolve(subscriber);
          }
          buffered += chunk;
          for (let end = buffered.indexOf('\n\n'); end >= 0; end = buffered.indexOf('\n\n')) {
            const block = buffered.slice(0, end);
            buffered = buffered.slice(end + 2);
            if (block.startsWith('id: ')) sink.frame(parseInt(block.slice(4), 10), at);
            else if (!block.startsWith('retry:') && !block.startsWith(':'))
              sink.problem(block.slice(0, 200));
          }
        });
        // A response cut off mid-stream is an error to the client: expected when we close.
        res.on('error', failed);
        res.on('close', () => failed(new Error('the stream ended')));
      });
      req.end();
    });
  },
};
