import { once } from 'node:events';
import { RawData, WebSocket } from 'ws';

interface Reply {
  id: number;
  result?: unknown;
  error?: { message: string };
}

// A client of a server's inspector (started with --inspect=127.0.0.1:<port>): memory is read from
// outside the process, so the product needs no route for it and both sides are read the same way.
export class Inspector {
  private next = 1;
  private readonly pending = new Map<number, (reply: Reply) => void>();

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data: RawData) => {
      const reply = JSON.parse(String(data)) as Reply;
      this.pending.get(reply.id)?.(reply);
      this.pending.delete(reply.id);
    });
  }

  static async connect(port: number): Promise<Inspector> {
    const targets = (await fetch(`http://127.0.0.1:${port}/json/list`).then((r) => r.json())) as {
      webSocketDebuggerUrl: string;
    }[];
    const socket = new WebSocket(targets[0].webSocketDebuggerUrl);
    await once(socket, 'open');
    return new Inspector(socket);
  }

  call(method: string, params: object = {}): Promise<unknown> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, (reply) =>
        reply.error
          ? reject(new Error(`${method}: ${reply.error.message}`))
          : resolve(reply.result),
      );
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  // heapUsed after full collections: twice, so what the first one's finalizers let go of is gone.
  async heapUsedAfterGc(): Promise<number> {
    await this.call('HeapProfiler.collectGarbage');
    await this.call('HeapProfiler.collectGarbage');
    const evaluated = (await this.call('Runtime.evaluate', {
      expression: 'process.memoryUsage().heapUsed',
      returnByValue: true,
    })) as { result: { value: number } };
    return evaluated.result.value;
  }

  async close(): Promise<void> {
    const closed = once(this.socket, 'close');
    this.socket.close();
    await closed;
  }
}
