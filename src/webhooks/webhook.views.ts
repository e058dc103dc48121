import { ApiProperty } from '@nestjs/swagger';
import type { DeliveryRow } from './webhook-delivery.store';

export class WebhookDeliveryView {
  @ApiProperty({ format: 'uuid', example: '7d1e6a0c-3b7f-4f0e-9c55-2a9d1f3b8e21' })
  id: string;

  @ApiProperty({ example: 1, description: 'The attempt, from 1' })
  attempt: number;

  @ApiProperty({ example: 'https://example.com/hooks/netra' })
  url: string;

  @ApiProperty({ type: Number, nullable: true, example: 200, description: "The receiver's status" })
  status_code: number | null;

  @ApiProperty({
    type: String,
    nullable: true,
    example: null,
    description: 'Why the attempt failed, when no status says it',
  })
  error: string | null;

  @ApiProperty({ example: 42 })
  duration_ms: number;

  @ApiProperty({ example: true, description: 'A 2xx answer: no more attempts' })
  delivered: boolean;

  @ApiProperty({ example: '2026-12-02T18:00:00.000Z' })
  created_at: string;

  static of(row: DeliveryRow): WebhookDeliveryView {
    return { ...row, created_at: row.created_at.toISOString() };
  }
}

export class WebhookSecretView {
  @ApiProperty({
    example: 'q0W9pX3...',
    description:
      'Your signing secret: X-Netra-Signature is t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with it>',
  })
  secret: string;

  @ApiProperty({ example: 'X-Netra-Signature' })
  header: string;
}
