import { Module } from '@nestjs/common';
import { ThreadsModule } from '../threads/threads.module';
import { ResearcherAgent } from './researcher.agent';
import { ThreadSearchTool } from './thread-search.tool';

// A feature module that adds a tool and an agent without touching the core: the registries find
// both by their decorators. docs/extending.md walks through it.
@Module({
  imports: [ThreadsModule],
  providers: [ThreadSearchTool, ResearcherAgent],
})
export class ThreadSearchModule {}
