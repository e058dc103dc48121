import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'run_events' })
export class RunEventRow {
  @PrimaryColumn({ name: 'run_id', type: 'uuid' })
  runId: string;

  @PrimaryColumn({ type: 'int' })
  seq: number;

  @Column({ name: 'user_id', type: 'varchar', length: 200 })
  userId: string;

  @Column({ name: 'thread_id', type: 'uuid' })
  threadId: string;

  @Column({ type: 'varchar', length: 64 })
  type: string;

  @Column({ name: 'agent_name', type: 'varchar', length: 100, default: 'supervisor' })
  agentName: string;

  @Column({ type: 'jsonb' })
  data: Record<string, unknown>;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'clock_timestamp()' })
  createdAt: Date;
}
