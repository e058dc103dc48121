import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { plainQuery } from '../database/plain-query';
import { Tx } from '../database/transaction';
import { fenced, fenceParams, RunClaim } from './run-fence';
import { RunStateRow } from './run-state.entity';

// The latest checkpoint of each run's agent state (run_state): enough to continue the run on any
// instance after a crash, a hand-back or an approval.
@Injectable()
export class RunCheckpointStore {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  // Written only while the writer's claim is the newest and the run is running. The fence row is
  // locked (FOR SHARE) in the same statement, so a claim committing meanwhile is waited for and then
  // seen. False when refused.
  async save(tx: Tx, claim: RunClaim, state: object, version: number): Promise<boolean> {
    const rows = await tx.rows(
      `WITH f AS (
         SELECT id, user_id FROM runs WHERE ${fenced('runs', 1, 2, 3)} AND status = 'running'
         FOR SHARE
       )
       INSERT INTO run_state (run_id, user_id, state, version)
       SELECT f.id, f.user_id, $4::jsonb, $5 FROM f
       ON CONFLICT (run_id) DO UPDATE SET state = EXCLUDED.state, version = EXCLUDED.version,
         updated_at = now()
       RETURNING run_id`,
      [...fenceParams(claim), JSON.stringify(state), version],
    );
    return rows.length > 0;
  }

  // Read when an execution starts: plain SQL.
  async load<T extends object>(userId: string, runId: string): Promise<T | null> {
    const [row] = await plainQuery<Pick<RunStateRow, 'state'>>(
      this.db,
      'SELECT state FROM run_state WHERE run_id = $1 AND user_id = $2',
      [runId, userId],
    );
    return row ? (row.state as T) : null;
  }
}
