import { Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { AuthenticatedUser } from '../context/user-context';

// stream_tickets: single-use, short-lived stand-ins for a bearer token where a browser cannot send
// one (EventSource, a WebSocket URL). Only the ticket's hash is stored. Shared by every instance: a
// ticket made on one is used on another.
@Injectable()
export class StreamTicketStore implements OnModuleInit, OnApplicationShutdown {
  private sweep?: NodeJS.Timeout;

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  // Expired tickets are deleted once a minute, not on each use: a flood of made-up tickets costs
  // one indexed lookup each, and none that is not shaped like a ticket costs any.
  onModuleInit(): void {
    this.sweep = setInterval(() => {
      this.db.query(`DELETE FROM stream_tickets WHERE expires_at <= now()`).catch(() => undefined);
    }, SWEEP_MS);
    this.sweep.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweep);
  }

  // The ticket stands for the user until it is used or expires, and never outlives the token that
  // asked for it.
  async issue(
    user: AuthenticatedUser,
    ttlSeconds: number,
  ): Promise<{ ticket: string; expiresIn: number }> {
    const ticket = randomBytes(32).toString('base64url');
    const tokenLeft = Math.floor(((user.expiresAt ?? Date.now()) - Date.now()) / 1000);
    const expiresIn = Math.max(1, Math.min(ttlSeconds, tokenLeft));
    await this.db.query(
      `INSERT INTO stream_tickets (ticket_hash, user_id, token_expires_at, expires_at)
       VALUES ($1, $2, to_timestamp($3 / 1000.0), now() + make_interval(secs => $4))`,
      [hash(ticket), user.id, user.expiresAt ?? Date.now(), expiresIn],
    );
    return { ticket, expiresIn };
  }

  // The user the ticket stands for, without using it up; null if unknown, used or expired.
  async holder(ticket: string): Promise<AuthenticatedUser | null> {
    if (!TICKET_SHAPE.test(ticket)) return null;
    const [found] = await this.db.query<{ user_id: string; token_expires_at: Date }[]>(
      `SELECT user_id, token_expires_at FROM stream_tickets
       WHERE ticket_hash = $1 AND expires_at > now()`,
      [hash(ticket)],
    );
    return found ? { id: found.user_id, expiresAt: found.token_expires_at.getTime() } : null;
  }

  // Uses the ticket up: the user it stands for, once; null if unknown, used or expired.
  async redeem(ticket: string): Promise<AuthenticatedUser | null> {
    if (!TICKET_SHAPE.test(ticket)) return null;
    const [rows] = await this.db.query<[{ user_id: string; token_expires_at: Date }[], number]>(
      `DELETE FROM stream_tickets WHERE ticket_hash = $1 AND expires_at > now()
       RETURNING user_id, token_expires_at`,
      [hash(ticket)],
    );
    const [found] = rows;
    return found ? { id: found.user_id, expiresAt: found.token_expires_at.getTime() } : null;
  }
}

const SWEEP_MS = 60_000;
// What issue() makes: 32 random bytes in base64url.
const TICKET_SHAPE = /^[\w-]{43}$/;

function hash(ticket: string): Buffer {
  return createHash('sha256').update(ticket).digest();
}
