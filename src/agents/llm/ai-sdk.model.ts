import {
  APICallError,
  jsonSchema,
  LanguageModel,
  ModelMessage,
  RetryError,
  streamText,
  tool,
  ToolSet,
} from 'ai';
import {
  ChatMessage,
  ChatModel,
  ModelChunk,
  ModelError,
  ModelRequest,
  ProviderMeta,
  ToolSpec,
} from './chat-model.port';

export interface AiSdkSettings {
  timeoutMs: number;
  maxRetries: number;
  // Passed to the provider on every call (e.g. Anthropic's extended thinking).
  providerOptions?: Record<string, Record<string, unknown>>;
}

// A ChatModel on the Vercel AI SDK: one model call per turn, tools declared without `execute`
// (the agents run them), the stream mapped part by part, provider failures made readable.
export class AiSdkModel implements ChatModel {
  constructor(
    readonly id: string,
    private readonly model: LanguageModel,
    private readonly settings: AiSdkSettings,
  ) {}

  async *stream(request: ModelRequest): AsyncIterable<ModelChunk> {
    const deadline = AbortSignal.timeout(this.settings.timeoutMs);
    const result = streamText({
      model: this.model,
      instructions: request.system,
      messages: toModelMessages(request.messages),
      tools: toToolSet(request.tools),
      abortSignal: AbortSignal.any([request.signal, deadline]),
      // The SDK retries 429 and 5xx with exponential backoff (honouring retry-after).
      maxRetries: this.settings.maxRetries,
      providerOptions: this.settings.providerOptions as never,
      onError: () => undefined, // errors arrive as stream parts below
    });
    try {
      for await (const part of result.stream) {
        switch (part.type) {
          case 'text-delta':
            yield { type: 'text', text: part.text };
            break;
          case 'reasoning-delta':
          case 'reasoning-end': {
            // The end (or an empty delta) may carry only the reasoning's signature.
            const text = part.type === 'reasoning-delta' ? part.text : '';
            const meta = part.providerMetadata as ProviderMeta | undefined;
            if (text || meta) yield { type: 'reasoning', text, ...(meta ? { meta } : {}) };
            break;
          }
          case 'tool-call':
            yield {
              type: 'tool_call',
              call: { id: part.toolCallId, name: part.toolName, arguments: asObject(part.input) },
            };
            break;
          case 'finish':
            yield {
              type: 'usage',
              inputTokens: part.totalUsage.inputTokens ?? 0,
              outputTokens: part.totalUsage.outputTokens ?? 0,
            };
            break;
          case 'error':
            throw part.error;
          case 'abort':
            throw request.signal.reason ?? deadline.reason;
          default:
            break;
        }
      }
    } catch (err) {
      if (request.signal.aborted) throw err;
      throw describeFailure(err, deadline.aborted, this.settings);
    }
  }
}

function toToolSet(specs: ToolSpec[]): ToolSet {
  return Object.fromEntries(
    specs.map((spec) => [
      spec.name,
      tool({ description: spec.description, inputSchema: jsonSchema(spec.parameters) }),
    ]),
  );
}

function toModelMessages(messages: ChatMessage[]): ModelMessage[] {
  return messages.map((message): ModelMessage => {
    switch (message.role) {
      case 'user':
        return { role: 'user', content: message.content };
      case 'assistant':
        return {
          role: 'assistant',
          content: [
            ...(message.reasoning
              ? [
                  {
                    type: 'reasoning' as const,
                    text: message.reasoning.text,
                    providerOptions: message.reasoning.meta as never,
                  },
                ]
              : []),
            ...(message.content ? [{ type: 'text' as const, text: message.content }] : []),
            ...(message.toolCalls ?? []).map((call) => ({
              type: 'tool-call' as const,
              toolCallId: call.id,
              toolName: call.name,
              input: call.arguments,
            })),
          ],
        };
      case 'tool':
        return {
          role: 'tool',
          content: [
            {
              type: 'tool-result',
              toolCallId: message.toolCallId,
              toolName: message.toolName,
              // error-json marks a failed call for the provider (Anthropic's is_error).
              output: {
                type: message.isError ? 'error-json' : 'json',
                value: JSON.parse(message.content) as never,
              },
            },
          ],
        };
    }
  });
}

// Providers' in-stream error events arrive as plain objects ({ type, message } or { error: {...} }).
function describeCause(cause: unknown): string {
  if (cause instanceof Error) {
    const inner = cause.cause instanceof Error ? `: ${cause.cause.message}` : '';
    return `${cause.message}${inner}`;
  }
  if (typeof cause === 'object' && cause !== null) {
    const body = cause as { message?: unknown; error?: { message?: unknown } };
    const message = body.message ?? body.error?.message;
    if (typeof message === 'string') return message;
    return JSON.stringify(cause).slice(0, 300);
  }
  return String(cause);
}

function asObject(input: unknown): Record<string, unknown> {
  return typeof input === 'object' && input !== null && !Array.isArray(input)
    ? (input as Record<string, unknown>)
    : {};
}

// What went wrong, said so that the person reading the run's agent_error can act on it.
export function describeFailure(
  err: unknown,
  timedOut: boolean,
  settings: AiSdkSettings,
): ModelError {
  if (timedOut) {
    return new ModelError(
      `The model did not finish within ${settings.timeoutMs / 1000} s (LLM_TIMEOUT_MS).`,
      'timeout',
    );
  }
  let cause = err;
  let attempts = '';
  if (RetryError.isInstance(err)) {
    cause = err.lastError;
    if (err.reason === 'maxRetriesExceeded') attempts = ` after ${err.errors.length} attempts`;
  }
  // A status under 400 means the response started fine and broke off (statusCode 200).
  if (APICallError.isInstance(cause) && cause.statusCode !== undefined && cause.statusCode >= 400) {
    const status = cause.statusCode;
    if (status === 401 || status === 403) {
      return new ModelError(
        `The model provider refused the API key (HTTP ${status}); check LLM_API_KEY.`,
        'auth',
      );
    }
    if (status === 429) {
      return new ModelError(
        `The model provider is rate limiting requests (HTTP 429)${attempts}; try again in a moment.`,
        'rate_limited',
      );
    }
    if (status >= 500) {
      return new ModelError(
        `The model provider is unavailable (HTTP ${status})${attempts}; try again later.`,
        'unavailable',
      );
    }
    return new ModelError(
      `The model provider rejected the request (HTTP ${status}): ${cause.message}`,
      'rejected',
    );
  }
  // No status at all: the provider could not be reached (refused, DNS, TLS).
  if (APICallError.isInstance(cause) && cause.statusCode === undefined) {
    return new ModelError(
      `Could not reach the model provider${attempts} (${describeCause(cause)}); check LLM_BASE_URL and the network.`,
      'unavailable',
    );
  }
  const detail = describeCause(cause);
  return new ModelError(
    `The model provider's response broke off or could not be read (${detail}).`,
    'bad_response',
  );
}
