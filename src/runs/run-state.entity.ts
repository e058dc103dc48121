import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

// The latest checkpoint of a run's agent state: enough to continue the run after a restart.
@Entity({ name: 'run_state' })
export class RunStateRow {
  @PrimaryColumn({ name: 'run_id', type: 'uuid' })
  runId: string;

  @Column({ name: 'user_id', type: 'varchar', length: 200 })
  userId: string;

  @Column({ type: 'jsonb' })
  state: Record<string, unknown>;

  @Column({ type: 'int' })
  version: number;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
