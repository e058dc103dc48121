import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { RunsModule } from '../runs/runs.module';
import { ApprovalService } from './approval.service';
import { ApprovalStore } from './approval.store';
import { RunInterrupt } from './run-interrupt.entity';

@Module({
  imports: [TypeOrmModule.forFeature([RunInterrupt]), RunsModule],
  providers: [ApprovalStore, ApprovalService],
  exports: [ApprovalStore, ApprovalService],
})
export class ApprovalsModule {}
