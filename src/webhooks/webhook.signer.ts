import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { createHmac } from 'node:crypto';
import { EnvironmentVariables } from '../config/env.validation';

export const SIGNATURE_HEADER = 'X-Netra-Signature';

// Signs webhook bodies with a secret per user: HMAC-SHA256 of `<timestamp>.<body>`, sent as
// `X-Netra-Signature: t=<unix seconds>,v1=<hex>`, as Stripe-style receivers expect. The per-user
// secret is derived from the server's key (WEBHOOK_SECRET, else the JWT secret), so every
// instance computes the same one and nothing is stored; a user reads theirs with
// GET /api/webhooks/secret.
@Injectable()
export class WebhookSigner {
  private readonly key: string;

  constructor(config: ConfigService<EnvironmentVariables, true>) {
    const own = config.get<string | undefined>('WEBHOOK_SECRET');
    this.key = own || `webhooks:${config.get('JWT_SECRET', { infer: true })}`;
  }

  secretFor(userId: string): string {
    return createHmac('sha256', this.key).update(`user:${userId}`).digest('base64url');
  }

  sign(userId: string, body: string, timestamp = Math.floor(Date.now() / 1000)): string {
    const mac = createHmac('sha256', this.secretFor(userId))
      .update(`${timestamp}.${body}`)
      .digest('hex');
    return `t=${timestamp},v1=${mac}`;
  }
}
