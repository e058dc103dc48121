import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { EnvironmentVariables } from '../config/env.validation';
import { RunQueue, WebhookJob } from '../runs/run.queue';
import { RunStore } from '../runs/run.store';
import { RunStatusView } from '../runs/run.views';
import { postWebhook } from './webhook.client';
import { WebhookDeliveryStore } from './webhook-delivery.store';
import { SIGNATURE_HEADER, WebhookSigner } from './webhook.signer';

// Delivers the webhooks of ended runs, from the queue (a job is sent in the transaction that ends
// the run, so none is lost and none is sent for a run that did not end). Each attempt is
// recorded; any answer but a 2xx, or none, fails the job and the queue tries again with backoff
// (WEBHOOK_RETRIES times).
@Injectable()
export class WebhookWorker implements OnApplicationBootstrap {
  private readonly logger = new Logger(WebhookWorker.name);
  private readonly allowPrivate: boolean;
  private readonly timeoutMs: number;

  constructor(
    private readonly queue: RunQueue,
    private readonly runs: RunStore,
    private readonly signer: WebhookSigner,
    private readonly deliveries: WebhookDeliveryStore,
    config: ConfigService<EnvironmentVariables, true>,
  ) {
    this.allowPrivate = config.get('WEBHOOK_ALLOW_PRIVATE', { infer: true }) === 'true';
    this.timeoutMs = config.get('WEBHOOK_TIMEOUT_MS', { infer: true });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.queue.workWebhooks((job) => this.deliver(job));
  }

  async deliver(job: WebhookJob): Promise<void> {
    const { run_id: runId, user_id: userId, url } = job.data;
    const run = await this.runs.findByRef(userId, runId);
    if (!run) return; // deleted with its thread's owner: nothing to tell
    const body = JSON.stringify({ event: 'run.finished', run: RunStatusView.of(run) });
    const attempt = { runId, userId, url, attempt: job.retryCount + 1 };
    try {
      const { status, ms } = await postWebhook(
        url,
        body,
        {
          [SIGNATURE_HEADER]: this.signer.sign(userId, body),
          'X-Netra-Event': 'run.finished',
          // The same on every attempt: a receiver that saw it already has it.
          'X-Netra-Delivery': job.id,
          'X-Netra-Attempt': String(attempt.attempt),
        },
        { allowPrivate: this.allowPrivate, timeoutMs: this.timeoutMs },
      );
      const delivered = status >= 200 && status < 300;
      await this.deliveries.record({ ...attempt, statusCode: status, error: null, ms, delivered });
      if (!delivered) throw new Error(`the receiver answered ${status}`);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (!message.startsWith('the receiver answered')) {
        await this.deliveries.record({
          ...attempt,
          statusCode: null,
          error: message,
          ms: 0,
          delivered: false,
        });
      }
      this.logger.warn(`Webhook of run ${runId}, attempt ${attempt.attempt}: ${message}`);
      throw err;
    }
  }
}
