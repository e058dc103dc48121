import { createConnection, createServer, Server, Socket } from 'node:net';

interface Link {
  client: Socket;
  upstream: Socket;
  websocket: boolean;
}

// A TCP proxy in front of an app, for a browser that must lose its WebSocket the way a network
// drops it: `cutWebSockets()` destroys every connection that carries a WebSocket (the browser sees
// 1006, the server a vanished peer) and refuses new ones until `restore()`. Plain HTTP passes.
export class CuttableProxy {
  private readonly links = new Set<Link>();
  private blocking = false;
  // How many WebSocket handshakes reached the app, for a test to see a reconnect happen.
  handshakes = 0;
  // The first line of every HTTP request that passed (`GET /mcp HTTP/1.1`).
  readonly requests: string[] = [];

  private constructor(
    private readonly server: Server,
    readonly origin: string,
  ) {}

  static async start(target: { host: string; port: number }): Promise<CuttableProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const proxy = new CuttableProxy(server, `http://127.0.0.1:${port}`);
    server.on('connection', (client: Socket) => proxy.accept(client, target));
    return proxy;
  }

  get openWebSockets(): number {
    return [...this.links].filter((l) => l.websocket).length;
  }

  cutWebSockets(): void {
    this.blocking = true;
    for (const link of this.links) if (link.websocket) this.drop(link);
  }

  // Every connection open now, HTTP ones too, dropped as a network would; new ones pass.
  cutAll(): void {
    for (const link of this.links) this.drop(link);
  }

  restore(): void {
    this.blocking = false;
  }

  async close(): Promise<void> {
    for (const link of this.links) this.drop(link);
    await new Promise((resolve) => this.server.close(resolve));
  }

  private accept(client: Socket, target: { host: string; port: number }): void {
    const upstream = createConnection(target);
    const link: Link = { client, upstream, websocket: false };
    this.links.add(link);
    client.on('data', (chunk: Buffer) => {
      const line = /^[A-Z]+ \S+ HTTP\/1\.1/.exec(chunk.toString('latin1', 0, 200));
      if (line) this.requests.push(line[0]);
      // A browser opens a connection of its own for each WebSocket; its first bytes say so.
      if (!link.websocket && /^GET \/ws[?/ ]/.test(chunk.toString('latin1', 0, 16))) {
        link.websocket = true;
        if (this.blocking) return this.drop(link);
        this.handshakes += 1;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    for (const socket of [client, upstream]) {
      socket.on('error', () => this.drop(link));
      socket.on('close', () => this.drop(link));
    }
  }

  private drop(link: Link): void {
    if (!this.links.delete(link)) return;
    link.client.destroy();
    link.upstream.destroy();
  }
}
