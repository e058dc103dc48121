// The port between the supervisor and a language model. A provider adapter (OpenAI, Anthropic, ...)
// implements ChatModel and is bound to the CHAT_MODEL token; the supervisor knows nothing else.

export interface ToolCall {
  id: string;
  name: string;
  arguments: Record<string, unknown>;
}

export type ChatMessage =
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string; toolCalls?: ToolCall[] }
  | { role: 'tool'; toolCallId: string; toolName: string; content: string; isError?: boolean };

export interface JsonSchemaObject {
  type: 'object';
  properties: Record<
    string,
    { type: 'string' | 'number' | 'integer' | 'boolean'; description?: string }
  >;
  required?: string[];
  additionalProperties?: boolean;
}

export interface ToolSpec {
  name: string;
  description: string;
  parameters: JsonSchemaObject;
}

// What a model streams: visible reasoning, answer text, and requests to call tools.
export type ModelChunk =
  | { type: 'reasoning'; text: string }
  | { type: 'text'; text: string }
  | { type: 'tool_call'; call: ToolCall };

export interface ModelRequest {
  messages: ChatMessage[];
  tools: ToolSpec[];
  signal: AbortSignal;
}

export interface ChatModel {
  // Shown in events and run status, e.g. "offline" or "openai:gpt-4o-mini".
  readonly id: string;
  stream(request: ModelRequest): AsyncIterable<ModelChunk>;
}

export const CHAT_MODEL = Symbol('CHAT_MODEL');
