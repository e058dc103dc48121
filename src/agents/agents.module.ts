import { Module, OnModuleInit } from '@nestjs/common';
import { RunsModule } from '../runs/runs.module';
import { ThreadsModule } from '../threads/threads.module';
import { CHAT_MODEL } from './llm/chat-model.port';
import { OfflineModel } from './llm/offline.model';
import { SupervisorAgent } from './supervisor.agent';
import { CalculatorTool } from './tools/calculator.tool';
import { ClockTool } from './tools/clock.tool';
import { ToolRegistry } from './tools/tool.registry';
import { WaitTool } from './tools/wait.tool';

@Module({
  imports: [RunsModule, ThreadsModule],
  providers: [
    { provide: CHAT_MODEL, useClass: OfflineModel },
    ToolRegistry,
    CalculatorTool,
    ClockTool,
    WaitTool,
    SupervisorAgent,
  ],
  exports: [SupervisorAgent, ToolRegistry],
})
export class AgentsModule implements OnModuleInit {
  constructor(
    private readonly registry: ToolRegistry,
    private readonly calculator: CalculatorTool,
    private readonly clock: ClockTool,
    private readonly wait: WaitTool,
  ) {}

  onModuleInit(): void {
    [this.calculator, this.clock, this.wait].forEach((tool) => this.registry.register(tool));
  }
}
