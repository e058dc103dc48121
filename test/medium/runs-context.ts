import { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AppModule } from '../../src/app.module';
import { Tx } from '../../src/database/transaction';
import { RunStore } from '../../src/runs/run.store';
import { Run } from '../../src/runs/run.entity';
import { StatePersistenceService } from '../../src/runs/state-persistence.service';
import { ThreadStore } from '../../src/threads/thread.store';
import { createDatabase, dropDatabase, TEST_JWT_SECRET } from '../support/test-app';

export interface RunsContext {
  app: INestApplicationContext;
  persistence: StatePersistenceService;
  runs: RunStore;
  // A queued run on a new thread of the user, as a start makes it (without its job).
  queuedRun(userId?: string): Promise<Run>;
  row(runId: string): Promise<Run>;
  close(): Promise<void>;
}

// The app's providers on a database of its own, with no worker taking jobs (APP_ROLE api) and no
// HTTP server: the stores and their SQL, against a real PostgreSQL.
export async function startRunsContext(): Promise<RunsContext> {
  const databaseUrl = await createDatabase();
  Object.assign(process.env, {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    JWT_SECRET: TEST_JWT_SECRET,
    DATABASE_URL: databaseUrl,
    APP_ROLE: 'api',
  });
  const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot()] }).compile();
  const app = await moduleRef.init();
  const persistence = app.get(StatePersistenceService);
  const runs = app.get(RunStore);
  const threads = app.get(ThreadStore);
  return {
    app,
    persistence,
    runs,
    queuedRun: (userId = 'mia') =>
      persistence.atomically(async (tx: Tx) => {
        const thread = await threads.create(userId, { title: 't' }, tx.manager);
        return runs.insert(tx, {
          userId,
          threadId: thread.id,
          clientRunId: null,
          query: 'What is 2 + 2?',
          agent: 'supervisor',
          model: null,
        });
      }),
    row: async (runId) => {
      const [found] = await app
        .get(StatePersistenceService)
        .atomically((tx) => tx.manager.getRepository(Run).findBy({ id: runId }));
      return found;
    },
    close: async () => {
      await app.close();
      await dropDatabase(databaseUrl);
    },
  };
}
