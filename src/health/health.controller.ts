import { Controller, Get } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckService,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import { SkipThrottle } from '@nestjs/throttler';
import { Public } from '../auth/public.decorator';
import { PostgresRunEventBus } from '../runs/pg-run-event.bus';
import { RunQueue } from '../runs/run.queue';
import { Lifecycle } from './lifecycle';

const DATABASE_TIMEOUT_MS = 1_500;
// Said in the OpenAPI document: these routes take no token.
const NO_TOKEN: [] = [];

// For load balancers and orchestrators: `live` says the process answers (restart it if not);
// `ready` says it can take work: the database and the queue answer and it is not draining.
@ApiTags('health')
@Public()
// Load balancers ask often; they are not users. (Named throttlers are skipped by name: a bare
// @SkipThrottle() only skips one called 'default'.)
@SkipThrottle({ requests: true, starts: true })
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    private readonly queue: RunQueue,
    private readonly bus: PostgresRunEventBus,
    private readonly lifecycle: Lifecycle,
  ) {}

  @Get('live')
  @ApiOperation({ summary: 'The process is up', security: NO_TOKEN })
  @ApiOkResponse({ schema: { example: { status: 'ok' } } })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @HealthCheck()
  @ApiOperation({
    summary: 'The instance takes work: database, queue and event listener up, not draining',
    security: NO_TOKEN,
  })
  @ApiServiceUnavailableResponse({ description: 'Not ready; the body says which check failed' })
  ready() {
    return this.health.check([
      () => this.db.pingCheck('database', { timeout: DATABASE_TIMEOUT_MS }),
      () => {
        const queue = this.indicators.check('queue');
        return this.queue.ready ? queue.up() : queue.down({ message: 'the queue is not started' });
      },
      // Without it, clients of this instance would hear of other instances' events only at the
      // feeds' periodic re-read.
      () => {
        const events = this.indicators.check('events');
        return this.bus.listening ? events.up() : events.down({ message: 'not listening' });
      },
      () => {
        const state = this.indicators.check('lifecycle');
        return this.lifecycle.isDraining ? state.down({ message: 'draining' }) : state.up();
      },
    ]);
  }

  // The earlier route, under /api: the database check alone.
  @Get('/')
  @HealthCheck()
  @ApiOperation({
    summary: 'The database answers (kept for compatibility; see /health/ready)',
    security: NO_TOKEN,
  })
  @ApiServiceUnavailableResponse({ description: 'The database does not answer' })
  check() {
    return this.health.check([
      () => this.db.pingCheck('database', { timeout: DATABASE_TIMEOUT_MS }),
    ]);
  }
}
