import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

export const INTERRUPT_STATUSES = ['pending', 'approved', 'rejected'] as const;
export type InterruptStatus = (typeof INTERRUPT_STATUSES)[number];

// A tool call waiting for a person: one per call, answered once, with who answered and when.
@Entity({ name: 'run_interrupts' })
export class RunInterrupt {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'run_id', type: 'uuid' })
  runId: string;

  @Column({ name: 'user_id', type: 'varchar', length: 200 })
  userId: string;

  @Column({ name: 'call_id', type: 'varchar', length: 200 })
  callId: string;

  @Column({ name: 'agent_name', type: 'varchar', length: 100 })
  agentName: string;

  @Column({ type: 'varchar', length: 100 })
  tool: string;

  @Column({ type: 'jsonb' })
  arguments: Record<string, unknown>;

  @Column({ type: 'varchar', length: 16, default: 'pending' })
  status: InterruptStatus;

  @Column({ type: 'text', nullable: true })
  message: string | null;

  @Column({ name: 'decided_by', type: 'varchar', length: 200, nullable: true })
  decidedBy: string | null;

  @Column({ name: 'decided_at', type: 'timestamptz', nullable: true })
  decidedAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
