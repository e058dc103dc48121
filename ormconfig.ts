import 'reflect-metadata';
import { DataSource, DataSourceOptions } from 'typeorm';
import { RunInterrupt } from './src/approvals/run-interrupt.entity';
import { InitialSchema1764090000000 } from './src/database/migrations/1764090000000-initial-schema';
import { AgentsApprovalsUsage1764100000000 } from './src/database/migrations/1764100000000-agents-approvals-usage';
import { DurableRuns1764200000000 } from './src/database/migrations/1764200000000-durable-runs';
import { StreamTickets1764300000000 } from './src/database/migrations/1764300000000-stream-tickets';
import { UnloggedRateLimits1764400000000 } from './src/database/migrations/1764400000000-unlogged-rate-limits';
import { ClientThreadIds1764500000000 } from './src/database/migrations/1764500000000-client-thread-ids';
import { Webhooks1764600000000 } from './src/database/migrations/1764600000000-webhooks';
import { RunEventRow } from './src/runs/run-event.entity';
import { RunStateRow } from './src/runs/run-state.entity';
import { Run } from './src/runs/run.entity';
import { Message } from './src/threads/message.entity';
import { Thread } from './src/threads/thread.entity';

// The one TypeORM data source description, used by the app (TypeOrmModule) and the migration CLI
// (`npm run migration:run`). Entities and migrations are listed as classes, so ts and js builds agree.
export function dataSourceOptions(url = process.env.DATABASE_URL): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: [Thread, Message, Run, RunEventRow, RunStateRow, RunInterrupt],
    migrations: [
      InitialSchema1764090000000,
      AgentsApprovalsUsage1764100000000,
      DurableRuns1764200000000,
      StreamTickets1764300000000,
      UnloggedRateLimits1764400000000,
      ClientThreadIds1764500000000,
      Webhooks1764600000000,
    ],
    migrationsTableName: 'migrations',
    synchronize: false,
  };
}

export default new DataSource(dataSourceOptions());
