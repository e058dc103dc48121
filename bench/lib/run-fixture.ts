import { Client } from 'pg';

// A run in progress that nothing executes, owned by `userId`: a thread and a `running` run row
// written straight into the product's (migrated) database. A run started through the API would be
// executed by the offline model and finish within milliseconds; this one stays `running` for as long
// as the figures follow it, provided no worker runs (the product is started with APP_ROLE=api, so
// neither the queue's worker nor the sweeper that gives job-less runs a job is there).
export async function createRun(databaseUrl: string, userId: string): Promise<string> {
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const [thread] = (
      await db.query<{ id: string }>(
        `INSERT INTO threads (user_id, title) VALUES ($1, 'bench fan-out') RETURNING id`,
        [userId],
      )
    ).rows;
    const [run] = (
      await db.query<{ id: string }>(
        `INSERT INTO runs (user_id, thread_id, query, status, started_at)
         VALUES ($1, $2, 'bench fan-out', 'running', now()) RETURNING id`,
        [userId, thread.id],
      )
    ).rows;
    return run.id;
  } finally {
    await db.end();
  }
}
