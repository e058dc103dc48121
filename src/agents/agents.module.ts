import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { ApprovalsModule } from '../approvals/approvals.module';
import { RunsModule } from '../runs/runs.module';
import { ThreadsModule } from '../threads/threads.module';
import { AgentRegistry } from './agent.registry';
import { ModelProvider } from './llm/model.provider';
import { OfflineModel } from './llm/offline.model';
import { FencedRunJournals, RunJournals } from './fenced-run.journal';
import { SupervisorAgent } from './supervisor.agent';
import { CalculatorTool } from './tools/calculator.tool';
import { ClockTool } from './tools/clock.tool';
import { NotifyTool } from './tools/notify.tool';
import { ToolRegistry } from './tools/tool.registry';
import { WaitTool } from './tools/wait.tool';

// The agents' runtime: models, the tool and agent registries, and the executor. Tools and agents
// from other modules are found by their decorators; those modules need not import this one.
@Module({
  imports: [DiscoveryModule, RunsModule, ThreadsModule, ApprovalsModule],
  providers: [
    OfflineModel,
    ModelProvider,
    ToolRegistry,
    AgentRegistry,
    CalculatorTool,
    ClockTool,
    WaitTool,
    NotifyTool,
    { provide: RunJournals, useClass: FencedRunJournals },
    SupervisorAgent,
  ],
  exports: [SupervisorAgent, ToolRegistry, AgentRegistry, ModelProvider],
})
export class AgentsModule {}
