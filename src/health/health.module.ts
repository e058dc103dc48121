import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { RunsModule } from '../runs/runs.module';
import { HealthController } from './health.controller';

@Module({
  imports: [TerminusModule, RunsModule],
  controllers: [HealthController],
})
export class HealthModule {}

// Served outside the /api prefix, where orchestrators look for them.
export const UNPREFIXED_HEALTH_ROUTES = ['health/live', 'health/ready'];
