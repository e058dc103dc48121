import { DiscoveryService } from '@nestjs/core';
import type { z } from 'zod';

export interface ToolContext {
  userId: string;
  runId: string;
  threadId: string;
  // The agent that called the tool (the supervisor or a sub-agent).
  agentName: string;
  // Stable across a rerun after a restart: a key for making side effects idempotent.
  callId: string;
  // Aborted when the run is cancelled, the app shuts down or the tool's time is up.
  signal: AbortSignal;
  // Tells every client following the run how far the tool has got: a `tool_progress` event.
  // Resolves once the event is stored; never rejects (a run that was ended aborts `signal`).
  progress(done: number, total?: number, message?: string): Promise<void>;
}

export interface ToolOptions {
  // Unique; what the model calls. Letters, digits, _ and -.
  name: string;
  // What the model reads to decide when to call it.
  description: string;
  // Validated before the tool runs; also sent to the model as JSON Schema.
  input: z.ZodType;
  // Pauses the run until a person approves or rejects the call.
  requiresApproval?: boolean;
  // Default 30 s. The signal aborts at the deadline and the model gets a timeout error.
  timeoutMs?: number;
}

export interface ToolHandler<Input = unknown> {
  execute(input: Input, ctx: ToolContext): Promise<unknown>;
}

/**
 * Declares a tool agents can call. Put it on an @Injectable() class that implements ToolHandler and
 * list the class in any module's providers: the ToolRegistry finds it at start-up. See
 * docs/extending.md.
 *
 *   @AgentTool({ name: 'weather', description: '...', input: z.object({ city: z.string() }) })
 *   @Injectable()
 *   export class WeatherTool implements ToolHandler<{ city: string }> { ... }
 */
export const AgentTool = DiscoveryService.createDecorator<ToolOptions>();

// Thrown by a tool for input it cannot use: the message goes back to the model to correct itself.
export class ToolInputError extends Error {}
