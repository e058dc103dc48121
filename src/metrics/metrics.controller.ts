import { Controller, Get, Header, Headers, NotFoundException } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import { Public } from '../auth/public.decorator';
import { MetricsAccess } from './metrics-access';
import { MetricsSnapshot } from './metrics-snapshot';
import { registry } from './metrics';

// GET /metrics on the app's own port, for Prometheus. Not in the OpenAPI document: it is for the
// operators' scraper, not for API clients. Who may read it is MetricsAccess's call.
@ApiExcludeController()
@Public()
@SkipThrottle({ requests: true, starts: true })
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly access: MetricsAccess,
    private readonly snapshot: MetricsSnapshot,
  ) {}

  @Get()
  @Header('Cache-Control', 'no-store')
  @Header('Content-Type', registry.contentType)
  async metrics(@Headers('authorization') authorization: string | undefined): Promise<string> {
    // Not found, rather than forbidden: a production instance does not say it has metrics here.
    if (!this.access.onAppPort(authorization)) throw new NotFoundException();
    return this.snapshot.text();
  }
}
