import {
  Column,
  CreateDateColumn,
  Entity,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';
import { RunStatus } from './run-status';

@Entity({ name: 'runs' })
export class Run {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'user_id', type: 'varchar', length: 200 })
  userId: string;

  @Column({ name: 'thread_id', type: 'uuid' })
  threadId: string;

  // The client's own id for the run; unique per user, so a retried start returns the same run.
  @Column({ name: 'client_run_id', type: 'varchar', length: 200, nullable: true })
  clientRunId: string | null;

  @Column({ type: 'text' })
  query: string;

  // The agent that answers (default the supervisor) and the model it was asked to use (null: the
  // configured default).
  @Column({ type: 'varchar', length: 100, default: 'supervisor' })
  agent: string;

  @Column({ type: 'varchar', length: 200, nullable: true })
  model: string | null;

  // Tokens in and out per model: { "<model>": { "input_tokens": n, "output_tokens": n } }.
  @Column({ type: 'jsonb', default: () => "'{}'" })
  usage: Record<string, { input_tokens: number; output_tokens: number }>;

  @Column({ type: 'varchar', length: 16 })
  status: RunStatus;

  @Column({ type: 'text', nullable: true })
  result: string | null;

  @Column({ type: 'text', nullable: true })
  error: string | null;

  // Seq of the newest event; bumped in the same statement that inserts the event.
  @Column({ name: 'last_seq', type: 'int', default: 0 })
  lastSeq: number;

  // Raised by every claim of the run by an executor; a write carrying an older number is refused.
  @Column({ type: 'int', default: 0 })
  attempt: number;

  // Where the run's final status is POSTed when it ends (see src/webhooks), if anywhere.
  @Column({ name: 'webhook_url', type: 'text', nullable: true })
  webhookUrl: string | null;

  // The queue job that executes (or executed) the run; null while it waits its turn on the thread.
  @Column({ name: 'job_id', type: 'uuid', nullable: true })
  jobId: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;

  @Column({ name: 'started_at', type: 'timestamptz', nullable: true })
  startedAt: Date | null;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt: Date | null;
}
