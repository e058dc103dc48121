import { Module } from '@nestjs/common';
import { UsageService } from './usage.service';
import { UsageStore } from './usage.store';

// Token usage and its cost (LLM_PRICES), per run, thread, model and user.
@Module({
  providers: [UsageStore, UsageService],
  exports: [UsageService],
})
export class UsageModule {}
