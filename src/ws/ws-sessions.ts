import { BeforeApplicationShutdown, Injectable, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { WebSocket } from 'ws';
import { EnvironmentVariables } from '../config/env.validation';
import { GOING_AWAY_CLOSE, WsSession } from './ws-session';

// The instance's open sockets, whichever user's gateway serves them: the gateway is request-scoped
// (one per user, as the services it injects), and Nest runs no lifecycle hook on request-scoped
// providers, so what concerns every socket of the process (heartbeats, the close on shutdown)
// lives here, a singleton.
@Injectable()
export class WsSessions implements OnModuleInit, BeforeApplicationShutdown {
  private readonly sessions = new Map<WebSocket, WsSession>();
  private heartbeat?: NodeJS.Timeout;
  private shuttingDown = false;

  constructor(private readonly config: ConfigService<EnvironmentVariables, true>) {}

  // Protocol-level pings find peers that vanished without a close (a closed laptop, a dropped NAT
  // entry), so their subscriptions do not linger.
  onModuleInit(): void {
    this.heartbeat = setInterval(
      () => {
        for (const session of this.sessions.values()) {
          if (!session.ping()) session.socket.terminate();
        }
      },
      this.config.get('WS_HEARTBEAT_MS', { infer: true }),
    );
  }

  // Clients are told to reconnect (here after a restart, or to another instance) rather than left
  // with an abnormal close. After the runs in hand were finished or handed back, so sockets keep
  // their events while the instance drains.
  beforeApplicationShutdown(): void {
    this.shuttingDown = true;
    clearInterval(this.heartbeat);
    for (const socket of this.sessions.keys())
      socket.close(GOING_AWAY_CLOSE, 'server shutting down');
  }

  // Whether the instance is closing: a socket accepted now is told to go elsewhere at once.
  get closing(): boolean {
    return this.shuttingDown;
  }

  add(session: WsSession): void {
    this.sessions.set(session.socket, session);
  }

  // The socket's session, removed; undefined if it had none (refused at connection).
  remove(socket: WebSocket): WsSession | undefined {
    const session = this.sessions.get(socket);
    this.sessions.delete(socket);
    return session;
  }
}
