import { JsonSchemaObject } from '../llm/chat-model.port';

export interface ToolContext {
  userId: string;
  runId: string;
  threadId: string;
  // Aborted when the run is cancelled or the app shuts down; long tools must honour it.
  signal: AbortSignal;
}

/**
 * A tool the agent can call. To add one from any module: implement this interface in an
 * @Injectable() class, inject ToolRegistry and call `registry.register(this)` in onModuleInit.
 * Arguments are checked against `parameters` before `execute` runs; whatever `execute` returns is
 * given to the model as JSON, and what it throws is given to the model as an error result.
 */
export interface AgentTool {
  readonly name: string;
  readonly description: string;
  readonly parameters: JsonSchemaObject;
  execute(args: Record<string, unknown>, ctx: ToolContext): Promise<unknown>;
}

// Thrown by a tool for bad input: the message goes to the model so it can correct itself.
export class ToolInputError extends Error {}
