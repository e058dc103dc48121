import { Client } from 'pg';
import { setTimeout as delay } from 'node:timers/promises';

// A database's committed transactions from pg_stat_database, read over the server's maintenance
// database (a connection to the database itself would add its own commits).
//
// A backend reports its counts to the shared statistics lazily (at most once a second while busy,
// up to 10 s after it goes idle) but always when it exits; so xact_commit is exact only while no
// backend of the database is connected. The figures read it at such moments: before a server
// starts and after it stopped and its backends are gone.
export class PgStats {
  private constructor(private readonly admin: Client) {}

  static async connect(adminUrl: string): Promise<PgStats> {
    const admin = new Client({ connectionString: adminUrl });
    await admin.connect();
    return new PgStats(admin);
  }

  // xact_commit of `database`, once none of its backends is left (they exit as soon as their
  // client's sockets close; this waits for that, up to 10 s).
  async settledCommits(database: string): Promise<number> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const { rows } = await this.admin.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1',
        [database],
      );
      if (rows[0].n === 0) break;
      if (Date.now() > deadline) throw new Error(`${database} still has ${rows[0].n} backends`);
      await delay(20); // backends exiting: nothing to wait on but the activity view
    }
    const { rows } = await this.admin.query<{ commits: string }>(
      'SELECT xact_commit AS commits FROM pg_stat_database WHERE datname = $1',
      [database],
    );
    return Number(rows[0].commits);
  }

  close(): Promise<void> {
    return this.admin.end();
  }
}

// The database name of a postgres:// URL.
export function databaseOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1));
}
