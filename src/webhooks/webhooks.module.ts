import { Module } from '@nestjs/common';
import { WebhookDeliveryStore } from './webhook-delivery.store';
import { WebhookSigner } from './webhook.signer';

// Outbound webhooks: the signer and the record of attempts, for the shared layer (a user's
// secret, a run's deliveries) and for the worker that sends them (WebhookWorker, in WorkerModule).
@Module({
  providers: [WebhookSigner, WebhookDeliveryStore],
  exports: [WebhookSigner, WebhookDeliveryStore],
})
export class WebhooksModule {}
