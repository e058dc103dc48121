// The port between the agents and a language model. A provider adapter implements ChatModel; the
// ModelProvider picks one per run from the configuration. The agents know nothing else.

export interface ToolCall {
  id: string;
  name: string;
  arguments: Record<string, unknown>;
}

export type ChatMessage =
  | { role: 'user'; content: string }
  | {
      role: 'assistant';
      content: string;
      toolCalls?: ToolCall[];
      // The turn's reasoning, with what the provider needs to accept it back (Anthropic's
      // signature): a model that thought before calling tools must see that thought again.
      reasoning?: { text: string; meta?: ProviderMeta };
    }
  | { role: 'tool'; toolCallId: string; toolName: string; content: string; isError?: boolean };

export interface ToolSpec {
  name: string;
  description: string;
  // JSON Schema of the arguments (an object schema).
  parameters: Record<string, unknown>;
}

// Opaque provider data carried with reasoning, keyed by provider name.
export type ProviderMeta = Record<string, Record<string, unknown>>;

// What a model streams: visible reasoning and answer text as they come, requests to call tools,
// and at the end the tokens the call used.
export type ModelChunk =
  | { type: 'reasoning'; text: string; meta?: ProviderMeta }
  | { type: 'text'; text: string }
  | { type: 'tool_call'; call: ToolCall }
  | { type: 'usage'; inputTokens: number; outputTokens: number };

export interface ModelRequest {
  // The agent's instructions.
  system: string;
  messages: ChatMessage[];
  tools: ToolSpec[];
  signal: AbortSignal;
}

export interface ChatModel {
  // The model's name, as shown in events and usage, e.g. "offline" or "gpt-4o-mini".
  readonly id: string;
  stream(request: ModelRequest): AsyncIterable<ModelChunk>;
}

export type ModelErrorCode =
  'auth' | 'rate_limited' | 'unavailable' | 'timeout' | 'bad_response' | 'rejected';

// A failure of the model provider, in words a user can act on.
export class ModelError extends Error {
  constructor(
    message: string,
    readonly code: ModelErrorCode,
  ) {
    super(message);
    this.name = 'ModelError';
  }
}
