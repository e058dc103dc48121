import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { timingSafeEqual } from 'node:crypto';
import { bearerToken } from '../auth/token.service';
import { EnvironmentVariables } from '../config/env.validation';

// Who may read /metrics on the app's port. With METRICS_PORT set, nobody: metrics are on that
// port only (bind it to a private network). Otherwise, with METRICS_TOKEN, whoever sends it as a
// bearer token; without either, anyone outside production and nobody in it.
@Injectable()
export class MetricsAccess {
  private readonly token?: Buffer;
  readonly port?: number;
  private readonly production: boolean;

  constructor(config: ConfigService<EnvironmentVariables, true>) {
    const token = config.get('METRICS_TOKEN', { infer: true });
    this.token = token ? Buffer.from(token) : undefined;
    this.port = config.get('METRICS_PORT', { infer: true });
    this.production = config.get('NODE_ENV', { infer: true }) === 'production';
  }

  onAppPort(authorization: string | undefined): boolean {
    if (this.port !== undefined) return false;
    if (!this.token) return !this.production;
    const given = Buffer.from(bearerToken(authorization) ?? '');
    return given.length === this.token.length && timingSafeEqual(given, this.token);
  }
}
