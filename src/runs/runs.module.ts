import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ThreadsModule } from '../threads/threads.module';
import { AgentService } from './agent.service';
import { PgListener } from '../database/pg-listener';
import { PostgresRunEventBus } from './pg-run-event.bus';
import { RunCheckpointStore } from './run-checkpoint.store';
import { RunEventBus } from './run-event.bus';
import { RunEventRow } from './run-event.entity';
import { RunEventLog } from './run-event.log';
import { RunEventGroupCommit } from './run-event.group-commit';
import { RunEventStream } from './run-event.stream';
import { RunStateRow } from './run-state.entity';
import { Run } from './run.entity';
import { RunQueue } from './run.queue';
import { RunStore } from './run.store';
import { StatePersistenceService } from './state-persistence.service';

@Module({
  imports: [TypeOrmModule.forFeature([Run, RunEventRow, RunStateRow]), ThreadsModule],
  providers: [
    PgListener,
    PostgresRunEventBus,
    { provide: RunEventBus, useExisting: PostgresRunEventBus },
    RunStore,
    RunEventLog,
    RunEventGroupCommit,
    RunCheckpointStore,
    RunQueue,
    StatePersistenceService,
    RunEventStream,
    AgentService,
  ],
  exports: [
    RunEventBus,
    RunEventGroupCommit,
    PostgresRunEventBus,
    RunStore,
    RunQueue,
    StatePersistenceService,
    RunEventStream,
    AgentService,
  ],
})
export class RunsModule {}
