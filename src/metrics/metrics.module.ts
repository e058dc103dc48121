import { Module } from '@nestjs/common';
import { MetricsAccess } from './metrics-access';
import { MetricsController } from './metrics.controller';
import { MetricsPort } from './metrics-port';
import { MetricsSnapshot } from './metrics-snapshot';

// Prometheus metrics (prom-client): GET /metrics, or METRICS_PORT. See metrics.ts for the figures.
@Module({
  controllers: [MetricsController],
  providers: [MetricsAccess, MetricsSnapshot, MetricsPort],
})
export class MetricsModule {}
