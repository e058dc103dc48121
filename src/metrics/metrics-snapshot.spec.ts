import { DataSource } from 'typeorm';
import { MetricsSnapshot } from './metrics-snapshot';

describe('MetricsSnapshot', () => {
  const snapshot = (query: () => Promise<unknown>) =>
    new MetricsSnapshot({ query } as unknown as DataSource);

  it('reads active runs by status and the queue depth from the database', async () => {
    const text = await snapshot(() =>
      Promise.resolve([
        { status: 'queued', n: 3 },
        { status: 'running', n: 2 },
      ]),
    ).text();
    expect(text).toContain('netra_runs{status="queued"} 3');
    expect(text).toContain('netra_runs{status="running"} 2');
    expect(text).toContain('netra_runs{status="requires_action"} 0');
    expect(text).toContain('netra_queue_depth 3');
    expect(text).toContain('netra_database_up 1');
  });

  it("still serves the process's figures while the database is away, without stale ones", async () => {
    await snapshot(() => Promise.resolve([{ status: 'queued', n: 3 }])).text();
    const text = await snapshot(() => Promise.reject(new Error('connection refused'))).text();
    expect(text).toContain('netra_database_up 0');
    expect(text).not.toContain('netra_runs{');
    expect(text).toContain('netra_process_cpu_user_seconds_total');
  });
});
