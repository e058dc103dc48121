import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { RawData, WebSocket } from 'ws';
import { Channel, Subscriber } from './subscriber';

// The start of every event frame, and where its seq is: 2,000 clients read tens of thousands of
// frames a second on one core, so an event frame is recognised and its seq read from the bytes,
// not JSON-parsed (both sides send the same bytes: {"type":"agent_update","payload":{"run_id":..,
// "thread_id":..,"seq":N,..}}, the seq the first "seq" key).
const UPDATE = Buffer.from('{"type":"agent_update"');
const SEQ = Buffer.from('"seq":');
const SUBSCRIBE_ID = 1;

// An authenticated socket on /ws (the token in the Authorization header, as a server-side client
// sends it), once open.
export function openSocket(port: number, token: string): Promise<WebSocket> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`, {
    headers: { authorization: `Bearer ${token}` },
    perMessageDeflate: false,
  });
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
    socket.once('unexpected-response', (req, res) => {
      req.destroy();
      reject(new Error(`upgrade answered ${res.statusCode}`));
    });
  });
}

// A protocol-level ping and its pong: the server has read everything sent before it.
export async function roundTrip(socket: WebSocket): Promise<void> {
  const pong = once(socket, 'pong');
  socket.ping();
  await pong;
}

// Closes with the closing handshake and waits for the server's close frame and the TCP close.
export async function closeSocket(socket: WebSocket): Promise<void> {
  if (socket.readyState === WebSocket.CLOSED) return;
  const closed = once(socket, 'close');
  socket.close(1000);
  await closed;
}

export const wsChannel: Channel = {
  name: 'WebSocket',
  async open(port, token, runId, after, sink): Promise<Subscriber> {
    const socket = await openSocket(port, token);
    let closing = false;
    let subscribed: ((error?: Error) => void) | undefined;
    // One listener from the start: the ack and a first event can come in one read.
    socket.on('message', (data: RawData) => {
      const at = performance.now();
      const bytes = data as Buffer;
      if (subscribed) {
        const frame = JSON.parse(bytes.toString('utf8')) as { type: string; request_id?: number };
        const answered = subscribed;
        subscribed = undefined;
        const acked = frame.type === 'ack' && frame.request_id === SUBSCRIBE_ID;
        return answered(acked ? undefined : new Error(`subscribe answered ${bytes.toString()}`));
      }
      if (bytes.subarray(0, UPDATE.length).equals(UPDATE)) sink.frame(seqOf(bytes), at);
      else sink.problem(bytes.toString('utf8').slice(0, 200));
    });
    socket.on('error', (err) => sink.problem(err.message));
    socket.once('close', (code) => {
      subscribed?.(new Error(`closed with ${code} before the subscribe ack`));
      if (!closing) sink.problem(`closed by the server with ${code}`);
    });
    try {
      await new Promise<void>((resolve, reject) => {
        subscribed = (error) => (error ? reject(error) : resolve());
        socket.send(
          JSON.stringify({
            type: 'subscribe',
            payload: { run_id: runId, after },
            request_id: SUBSCRIBE_ID,
          }),
        );
      });
    } catch (err) {
      closing = true;
      socket.terminate();
      throw err;
    }
    return {
      close: () => {
        closing = true;
        return closeSocket(socket);
      },
    };
  },
};

export function seqOf(frame: Buffer): number {
  let at = frame.indexOf(SEQ) + SEQ.length;
  let seq = 0;
  for (let c = frame[at]; c >= 0x30 && c <= 0x39; c = frame[++at]) seq = seq * 10 + c - 0x30;
  return seq;
}
