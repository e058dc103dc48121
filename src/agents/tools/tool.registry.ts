import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { z } from 'zod';
import { ToolCall, ToolSpec } from '../llm/chat-model.port';
import { AgentTool, ToolContext, ToolHandler, ToolOptions } from './agent-tool';
import { since, toolCallDuration } from '../../metrics/metrics';
import { inSpan, RUN_ID } from '../../tracing/tracer';
import { SpanStatusCode } from '@opentelemetry/api';

export interface ToolOutcome {
  result: unknown;
  isError: boolean;
}

export interface RegisteredTool extends ToolOptions {
  handler: ToolHandler;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const NAME = /^[A-Za-z0-9_-]{1,64}$/;

// Every tool of every module: found through @AgentTool() at start-up, or added with register().
@Injectable()
export class ToolRegistry implements OnModuleInit {
  private readonly logger = new Logger(ToolRegistry.name);
  private readonly tools = new Map<string, RegisteredTool>();
  private readonly madeSpecs = new Map<string, ToolSpec>();

  constructor(private readonly discovery: DiscoveryService) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders({ metadataKey: AgentTool.KEY })) {
      const options = this.discovery.getMetadataByDecorator(AgentTool, wrapper);
      if (!options) continue;
      // A request-scoped tool would be registered without its dependencies and fail on every call.
      if (!wrapper.isDependencyTreeStatic() || !wrapper.instance) {
        throw new Error(
          `tool ${options.name} (${wrapper.name}) depends on request-scoped providers; tools are ` +
            'singletons: take the user from the ToolContext instead',
        );
      }
      this.register(options, wrapper.instance as ToolHandler);
    }
    this.logger.log(`Tools: ${[...this.tools.keys()].join(', ')}`);
  }

  register(options: ToolOptions, handler: ToolHandler): void {
    if (!NAME.test(options.name)) throw new Error(`tool name "${options.name}" is not valid`);
    if (options.name === 'delegate') throw new Error('the tool name "delegate" is reserved');
    if (this.tools.has(options.name)) throw new Error(`tool ${options.name} is already registered`);
    this.tools.set(options.name, { ...options, handler });
  }

  get(name: string): RegisteredTool | undefined {
    return this.tools.get(name);
  }

  names(): string[] {
    return [...this.tools.keys()];
  }

  specs(names: readonly string[] = this.names()): ToolSpec[] {
    return names.flatMap((name) => {
      const spec = this.spec(name);
      return spec ? [spec] : [];
    });
  }

  // Made once per tool: every model turn asks for them, and turning a zod schema into JSON Schema
  // was a few per cent of a run's CPU. Shared, so never changed by a caller (frozen).
  private spec(name: string): ToolSpec | undefined {
    const made = this.madeSpecs.get(name);
    if (made) return made;
    const tool = this.tools.get(name);
    if (!tool) return undefined;
    const parameters = z.toJSONSchema(tool.input, { io: 'input' }) as Record<string, unknown>;
    delete parameters.$schema;
    const spec = deepFreeze({ name, description: tool.description, parameters });
    this.madeSpecs.set(name, spec);
    return spec;
  }

  // The call's arguments as the tool would get them (defaults filled in, unknown keys dropped).
  parse(
    call: ToolCall,
  ): { ok: true; input: Record<string, unknown> } | { ok: false; error: string } {
    const tool = this.tools.get(call.name);
    if (!tool) return { ok: false, error: `unknown tool ${call.name}` };
    const parsed = tool.input.safeParse(call.arguments);
    if (!parsed.success) {
      return {
        ok: false,
        error: `invalid arguments: ${z.prettifyError(parsed.error).replace(/\n/g, ' ')}`,
      };
    }
    return { ok: true, input: parsed.data as Record<string, unknown> };
  }

  // Never throws for a tool's failure: the model gets the error as the result and the run goes on.
  // Only cancellation of the run propagates.
  // The call in a span of its own, timed by tool and outcome.
  async execute(call: ToolCall, ctx: ToolContext): Promise<ToolOutcome> {
    const started = performance.now();
    let outcome = 'error';
    try {
      const result = await inSpan(
        `tool ${call.name}`,
        { [RUN_ID]: ctx.runId, 'gen_ai.tool.name': call.name, 'gen_ai.tool.call.id': ctx.callId },
        async (span) => {
          const done = await this.run(call, ctx);
          if (done.isError) span.setStatus({ code: SpanStatusCode.ERROR });
          return done;
        },
      );
      outcome = result.isError ? 'error' : 'ok';
      return result;
    } finally {
      toolCallDuration.observe({ tool: call.name, outcome }, since(started));
    }
  }

  private async run(call: ToolCall, ctx: ToolContext): Promise<ToolOutcome> {
    const tool = this.tools.get(call.name);
    const parsed = this.parse(call);
    if (!tool || !parsed.ok) return failure(parsed.ok ? `unknown tool ${call.name}` : parsed.error);
    ctx.signal.throwIfAborted(); // a cancelled run starts no tool
    const timeoutMs = tool.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = AbortSignal.any([ctx.signal, deadline]);
    try {
      // Raced against the signal, so a tool that ignores it still cannot hold the run.
      const result = await Promise.race([
        Promise.resolve().then(() => tool.handler.execute(parsed.input, { ...ctx, signal })),
        aborted(signal),
      ]);
      // The result goes to the model and into events as JSON; anything else is the tool's error.
      if (!isJson(result)) return failure('the tool returned a value that is not JSON');
      return { result, isError: false };
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      if (deadline.aborted) return failure(`the tool did not finish within ${timeoutMs} ms`);
      return failure(err instanceof Error ? err.message : String(err));
    }
  }
}

function isJson(value: unknown): boolean {
  try {
    JSON.stringify(value);
    return true;
  } catch {
    return false;
  }
}

function failure(error: string): ToolOutcome {
  return { result: { error }, isError: true };
}

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const fail = () =>
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    Object.values(value).forEach(deepFreeze);
  }
  return value;
}
