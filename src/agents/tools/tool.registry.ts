import { Injectable } from '@nestjs/common';
import { ToolCall, ToolSpec } from '../llm/chat-model.port';
import { AgentTool, ToolContext, ToolInputError } from './agent-tool';

export interface ToolOutcome {
  result: unknown;
  isError: boolean;
}

// The tools agents may call. Other modules add theirs with register().
@Injectable()
export class ToolRegistry {
  private readonly tools = new Map<string, AgentTool>();

  register(tool: AgentTool): void {
    if (this.tools.has(tool.name)) throw new Error(`tool ${tool.name} is already registered`);
    this.tools.set(tool.name, tool);
  }

  specs(): ToolSpec[] {
    return [...this.tools.values()].map(({ name, description, parameters }) => ({
      name,
      description,
      parameters,
    }));
  }

  // Never throws for a tool's failure: the model gets the error as the result and the run goes on.
  // Only cancellation propagates.
  async execute(call: ToolCall, ctx: ToolContext): Promise<ToolOutcome> {
    const tool = this.tools.get(call.name);
    if (!tool) return { result: { error: `unknown tool ${call.name}` }, isError: true };
    const problem = checkArguments(tool, call.arguments);
    if (problem) return { result: { error: problem }, isError: true };
    try {
      // Through a promise, so a tool that throws synchronously is handled like one that rejects.
      const result = await Promise.resolve().then(() => tool.execute(call.arguments, ctx));
      return { result, isError: false };
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      const message =
        err instanceof ToolInputError || err instanceof Error ? err.message : String(err);
      return { result: { error: message }, isError: true };
    }
  }
}

function checkArguments(tool: AgentTool, args: Record<string, unknown>): string | null {
  const { properties, required = [], additionalProperties } = tool.parameters;
  for (const name of required) {
    if (args[name] === undefined) return `argument ${name} is required`;
  }
  for (const [name, value] of Object.entries(args)) {
    // Own properties only: an argument named "constructor" is not a declared parameter.
    const spec = Object.hasOwn(properties, name) ? properties[name] : undefined;
    if (!spec) {
      if (additionalProperties === false) return `unknown argument ${name}`;
      continue;
    }
    const ok =
      spec.type === 'integer'
        ? Number.isInteger(value)
        : spec.type === 'number'
          ? typeof value === 'number' && Number.isFinite(value)
          : typeof value === spec.type;
    if (!ok) return `argument ${name} must be a ${spec.type}`;
  }
  return null;
}
