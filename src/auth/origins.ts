import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { EnvironmentVariables } from '../config/env.validation';

// Which browser origins may use the API: those listed in ALLOWED_ORIGINS (exactly), the app's own,
// and requests with no Origin at all (servers, command-line clients). One policy for the WebSocket
// handshake and for CORS.
@Injectable()
export class OriginPolicy {
  private readonly allowed: ReadonlySet<string>;

  constructor(config: ConfigService<EnvironmentVariables, true>) {
    const listed = config.get('ALLOWED_ORIGINS', { infer: true }) ?? '';
    this.allowed = new Set(
      listed
        .split(',')
        .map((origin) => origin.trim())
        .filter(Boolean),
    );
  }

  // `host` is the request's Host header: an origin with that host is the app's own.
  allows(origin: string | undefined, host?: string): boolean {
    if (origin === undefined) return true;
    if (this.allowed.has(origin)) return true;
    try {
      return host !== undefined && new URL(origin).host === host;
    } catch {
      return false;
    }
  }

  // For CORS: only the listed origins get its headers (the app's own need none).
  listed(origin: string | undefined): boolean {
    return origin !== undefined && this.allowed.has(origin);
  }
}
