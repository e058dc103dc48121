import { createServer, Server, Socket, connect } from 'node:net';
import { performance } from 'node:perf_hooks';

// One transaction a client ended, as seen on the wire.
export interface TappedTransaction {
  // The connection's application_name (from its startup message); '' when it sent none.
  app: string;
  // The statements' text in order (BEGIN and COMMIT included), whitespace squeezed.
  statements: string[];
  // The server's command tags (CommandComplete: `INSERT 0 1`, `UPDATE 0`, `SELECT 3`), in order.
  tags: string[];
  committed: boolean;
  // performance.now() of the ReadyForQuery that ended it.
  at: number;
}

// A NOTIFY delivered to a listening connection. PostgreSQL reads its notification queue for a
// listening backend in a transaction of the backend's own, which xact_commit counts but no client
// sent: these mark where such commits happen (a listener on another channel is woken too, and
// receives nothing).
export interface TappedNotification {
  app: string;
  channel: string;
  at: number;
}

export interface PgWireTap {
  port: number;
  transactions: TappedTransaction[];
  notifications: TappedNotification[];
  // The application_name of each connection opened (each one's start is a commit of its own, too).
  connections: string[];
  close(): Promise<void>;
}

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;

// A TCP proxy between a server and PostgreSQL that reads the protocol going by and records every
// transaction each connection ends: what pg_stat_database's xact_commit counts, with the SQL and
// the connection's application name beside it, so a commit count can be traced to its statements
// (pg_stat_statements needs a server restart to load; statement logging, a server setting). It
// passes every byte through unchanged and unencrypted only: a client that asks for TLS is refused
// (sslmode=disable, the default of pg without `ssl`, never asks).
export async function startPgWireTap(upstream: { host: string; port: number }): Promise<PgWireTap> {
  const transactions: TappedTransaction[] = [];
  const notifications: TappedNotification[] = [];
  const connections: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const backend = connect(upstream.port, upstream.host);
    sockets.add(client).add(backend);
    const conn = new Connection(transactions, notifications, connections);
    client.on('data', (chunk: Buffer) => {
      conn.fromClient(chunk);
      backend.write(chunk);
    });
    backend.on('data', (chunk: Buffer) => {
      conn.fromServer(chunk);
      client.write(chunk);
    });
    const end = () => {
      client.destroy();
      backend.destroy();
      sockets.delete(client);
      sockets.delete(backend);
    };
    client.on('close', end).on('error', end);
    backend.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    transactions,
    notifications,
    connections,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

// The protocol state of one connection: its messages framed from the byte stream in each
// direction, the statements sent since it was last idle, and whether an error aborted them.
class Connection {
  private app = '';
  private client = Buffer.alloc(0);
  private server = Buffer.alloc(0);
  // Until the startup message went by, the client's messages have no type byte.
  private startup = true;
  // After an SSLRequest the server answers one unframed byte.
  private sslAnswerDue = false;
  private statements: string[] = [];
  private tags: string[] = [];
  private errored = false;
  private failedBlock = false;

  constructor(
    private readonly out: TappedTransaction[],
    private readonly notified: TappedNotification[],
    private readonly opened: string[],
  ) {}

  fromClient(chunk: Buffer): void {
    this.client = Buffer.concat([this.client, chunk]);
    for (;;) {
      if (this.startup) {
        if (this.client.length < 8) return;
        const length = this.client.readInt32BE(0);
        if (this.client.length < length) return;
        const code = this.client.readInt32BE(4);
        const body = this.client.subarray(8, length);
        this.client = this.client.subarray(length);
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) this.sslAnswerDue = true;
        else if (code !== CANCEL_REQUEST) {
          this.app = startupParameter(body, 'application_name');
          this.opened.push(this.app);
          this.startup = false;
        }
        continue;
      }
      if (this.client.length < 5) return;
      const length = this.client.readInt32BE(1) + 1;
      if (this.client.length < length) return;
      const type = String.fromCharCode(this.client[0]);
      const body = this.client.subarray(5, length);
      this.client = this.client.subarray(length);
      if (type === 'Q') this.statements.push(squeeze(cString(body, 0)));
      // Parse: the statement's name, then its text.
      if (type === 'P') this.statements.push(squeeze(cString(body, body.indexOf(0) + 1)));
    }
  }

  fromServer(chunk: Buffer): void {
    this.server = Buffer.concat([this.server, chunk]);
    if (this.sslAnswerDue && this.server.length > 0) {
      if (this.server[0] !== 'N'.charCodeAt(0)) throw new Error('pg wire tap: TLS is not tapped');
      this.server = this.server.subarray(1);
      this.sslAnswerDue = false;
    }
    for (;;) {
      if (this.server.length < 5) return;
      const length = this.server.readInt32BE(1) + 1;
      if (this.server.length < length) return;
      const type = String.fromCharCode(this.server[0]);
      const body = this.server.subarray(5, length);
      const status = String.fromCharCode(this.server[5]);
      this.server = this.server.subarray(length);
      if (type === 'C') this.tags.push(cString(body, 0));
      if (type === 'E') this.errored = true;
      // NotificationResponse: the sender's pid, then the channel.
      if (type === 'A') {
        this.notified.push({ app: this.app, channel: cString(body, 4), at: performance.now() });
      }
      if (type === 'Z') this.readyForQuery(status);
    }
  }

  // ReadyForQuery: I idle (a transaction ended, if anything ran), T in a block, E in a failed one.
  private readyForQuery(status: string): void {
    if (status === 'T') this.errored = false; // a savepoint rolled back: the block goes on
    if (status === 'E') this.failedBlock = true;
    if (status !== 'I' || this.statements.length === 0) return;
    const last = this.statements[this.statements.length - 1];
    this.out.push({
      app: this.app,
      statements: this.statements,
      tags: this.tags,
      committed: !this.errored && !this.failedBlock && !/^rollback\b/i.test(last),
      at: performance.now(),
    });
    this.statements = [];
    this.tags = [];
    this.errored = false;
    this.failedBlock = false;
  }
}

function cString(buffer: Buffer, from: number): string {
  const end = buffer.indexOf(0, from);
  return buffer.toString('utf8', from, end < 0 ? buffer.length : end);
}

function startupParameter(body: Buffer, name: string): string {
  const parts = body.toString('utf8').split('\0');
  const at = parts.indexOf(name);
  return at >= 0 && at % 2 === 0 ? parts[at + 1] : '';
}

function squeeze(sql: string): string {
  return sql.replace(/\s+/g, ' ').trim();
}
