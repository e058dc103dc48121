import { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { AppModule } from '../../src/app.module';
import { Tx } from '../../src/database/transaction';
import { RunStore } from '../../src/runs/run.store';
import { Run } from '../../src/runs/run.entity';
import { RunJob } from '../../src/runs/run.queue';
import { runJob } from '../fixtures/fake-runs';
import { StatePersistenceService } from '../../src/runs/state-persistence.service';
import { ThreadStore } from '../../src/threads/thread.store';
import { createDatabase, dropDatabase, TEST_JWT_SECRET } from '../support/test-app';

export interface RunsContext {
  app: INestApplicationContext;
  persistence: StatePersistenceService;
  runs: RunStore;
  // A queued run on a new thread of the user, with its queue job, as a start makes it.
  queuedRun(userId?: string): Promise<Run>;
  // The run's job as a worker holds it once fetched (active), for a claim.
  fetchedJob(run: Run): Promise<RunJob>;
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
  const db = app.get(DataSource);
  const row = async (runId: string): Promise<Run> => {
    const found = await db.getRepository(Run).findOneBy({ id: runId });
    if (!found) throw new Error(`no run ${runId}`);
    return found;
  };
  return {
    app,
    persistence,
    runs,
    queuedRun: (userId = 'mia') =>
      persistence.atomically(async (tx: Tx) => {
        const thread = await threads.create(userId, { title: 't' }, tx.manager);
        const run = await runs.insert(tx, {
          userId,
          threadId: thread.id,
          clientRunId: null,
          query: 'What is 2 + 2?',
          agent: 'supervisor',
          model: null,
          webhookUrl: null,
        });
        return (await persistence.dispatchNext(tx, userId, thread.id)) ?? run;
      }),
    // What pg-boss's fetch does to the job row; no worker runs here to fetch it. An earlier job of
    // the thread (a run that paused for approval) is done by then, as its handler returned.
    fetchedJob: async (run) => {
      const { jobId } = await row(run.id);
      await db.query(
        `UPDATE pgboss.job SET state = 'completed', completed_on = now()
         WHERE singleton_key = $1 AND state = 'active' AND id <> $2`,
        [run.threadId, jobId],
      );
      // TypeORM answers an UPDATE with [rows, count].
      const [[fetched]] = await db.query<[{ retry_count: number }[], number]>(
        `UPDATE pgboss.job SET state = 'active', started_on = now(), heartbeat_on = now()
         WHERE id = $1 RETURNING retry_count`,
        [jobId],
      );
      return { ...runJob(run), id: jobId!, retryCount: fetched.retry_count };
    },
    row,
    close: async () => {
      await app.close();
      await dropDatabase(databaseUrl);
    },
  };
}
