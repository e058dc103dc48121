import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ThreadsModule } from '../threads/threads.module';
import { AgentService } from './agent.service';
import { InProcessRunEventBus, RunEventBus } from './run-event.bus';
import { RunEventRow } from './run-event.entity';
import { RunEventStream } from './run-event.stream';
import { RunStateRow } from './run-state.entity';
import { Run } from './run.entity';
import { StatePersistenceService } from './state-persistence.service';

@Module({
  imports: [TypeOrmModule.forFeature([Run, RunEventRow, RunStateRow]), ThreadsModule],
  providers: [
    { provide: RunEventBus, useClass: InProcessRunEventBus },
    StatePersistenceService,
    RunEventStream,
    AgentService,
  ],
  exports: [RunEventBus, StatePersistenceService, RunEventStream, AgentService],
})
export class RunsModule {}
