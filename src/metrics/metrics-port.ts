import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { createServer, Server } from 'node:http';
import { MetricsAccess } from './metrics-access';
import { MetricsSnapshot } from './metrics-snapshot';

// METRICS_PORT: /metrics on a port of its own, for a scraper on a private network, and not on
// the app's port.
@Injectable()
export class MetricsPort implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Metrics');
  private server?: Server;

  constructor(
    private readonly access: MetricsAccess,
    private readonly snapshot: MetricsSnapshot,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const port = this.access.port;
    if (port === undefined) return;
    this.server = createServer((req, res) => {
      if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      this.snapshot.text().then(
        (text) => res.writeHead(200, { 'Content-Type': this.snapshot.contentType }).end(text),
        (err: unknown) => {
          this.logger.warn(`metrics failed: ${String(err)}`);
          res.writeHead(503).end();
        },
      );
    });
    await new Promise<void>((done) => this.server!.listen(port, done));
    this.logger.log(`metrics on port ${port}`);
  }

  async onApplicationShutdown(): Promise<void> {
    await new Promise<void>((done) => (this.server ? this.server.close(() => done()) : done()));
  }
}
