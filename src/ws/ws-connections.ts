import { Injectable } from '@nestjs/common';
import { openSockets } from '../metrics/metrics';

// How many sockets each user has open on this instance (MAX_SOCKETS_PER_USER is per instance).
@Injectable()
export class WsConnections {
  private readonly open = new Map<string, number>();

  count(userId: string): number {
    return this.open.get(userId) ?? 0;
  }

  opened(userId: string): void {
    this.open.set(userId, this.count(userId) + 1);
    openSockets.inc();
  }

  closed(userId: string): void {
    openSockets.dec();
    const left = this.count(userId) - 1;
    if (left > 0) this.open.set(userId, left);
    else this.open.delete(userId);
  }
}
