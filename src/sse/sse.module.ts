import { Module } from '@nestjs/common';
import { SseWriter } from './sse.writer';

// Server-Sent Events for every channel that streams over HTTP (REST, AG-UI, ...): one writer, so
// the per-user cap on open streams counts them all and shutdown ends them all.
@Module({
  providers: [SseWriter],
  exports: [SseWriter],
})
export class SseModule {}
