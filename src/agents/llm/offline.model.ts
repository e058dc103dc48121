import { Injectable } from '@nestjs/common';
import {
  ChatMessage,
  ChatModel,
  ModelChunk,
  ModelRequest,
  ToolCall,
  ToolSpec,
} from './chat-model.port';

// The built-in model: deterministic, offline, for development and tests only. It recognises
// arithmetic, questions about the time and "wait N seconds", "use <tool> {json}" for any offered
// tool and "ask <agent> to <task>" for delegation, calls the matching tool, and answers from the
// tool results. Anything else gets a plain, honest echo. It reports tokens as characters / 4.
@Injectable()
export class OfflineModel implements ChatModel {
  readonly id = 'offline';

  async *stream(request: ModelRequest): AsyncIterable<ModelChunk> {
    let output = 0;
    for await (const chunk of this.turn(request)) {
      if (chunk.type === 'text' || chunk.type === 'reasoning') output += chunk.text.length;
      if (chunk.type === 'tool_call') output += JSON.stringify(chunk.call).length;
      yield chunk;
    }
    const input = request.system.length + JSON.stringify(request.messages).length;
    yield { type: 'usage', inputTokens: Math.ceil(input / 4), outputTokens: Math.ceil(output / 4) };
  }

  // The port is asynchronous for real providers; this model has nothing to wait for.
  // eslint-disable-next-line @typescript-eslint/require-await
  private async *turn(request: ModelRequest): AsyncIterable<ModelChunk> {
    request.signal.throwIfAborted();
    const lastUser = findLastIndex(request.messages, (m) => m.role === 'user');
    const query = lastUser >= 0 ? request.messages[lastUser].content : '';
    const sinceQuery = request.messages.slice(lastUser + 1);
    const results = sinceQuery.filter((m) => m.role === 'tool');

    if (results.length > 0) {
      yield { type: 'reasoning', text: `I have ${describe(results)}; I can answer now.` };
      yield* words(results.map(sentenceFor).join(' '));
      return;
    }

    const step = sinceQuery.filter((m) => m.role === 'assistant').length + 1;
    const calls = plan(query, request.tools).map((c, i) => ({ ...c, id: `call_${step}_${i + 1}` }));
    if (calls.length === 0) {
      yield { type: 'reasoning', text: 'No tool is needed for this; I will answer directly.' };
      yield* words(
        `I am the built-in offline model, meant for development and tests. You said: "${clip(query, 500)}". ` +
          'I can do arithmetic, tell the time, wait and notify you; configure a real model for anything else.',
      );
      return;
    }
    const what = calls.map((c) => `${c.name} ${JSON.stringify(c.arguments)}`).join(' and ');
    yield { type: 'reasoning', text: `The question "${clip(query, 200)}" needs ${what}.` };
    for (const call of calls) yield { type: 'tool_call', call };
  }
}

function plan(query: string, tools: ToolSpec[]): Omit<ToolCall, 'id'>[] {
  const available = new Set(tools.map((t) => t.name));
  // Delegation first: "ask the researcher to use thread_search ..." is the researcher's job.
  const delegation = delegationIn(query, tools);
  if (delegation) return [delegation];
  const explicit = explicitCall(query, available);
  if (explicit) return [explicit];
  const calls: Omit<ToolCall, 'id'>[] = [];
  const wait = query.match(/\bwait\s+(\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|secs?|seconds?)\b/i);
  if (wait && available.has('wait')) {
    const seconds = wait[2].toLowerCase().startsWith('m')
      ? Number(wait[1]) / 1000
      : Number(wait[1]);
    calls.push({ name: 'wait', arguments: { seconds } });
  }
  if (available.has('calculator')) {
    for (const expression of arithmeticIn(wait ? query.replace(wait[0], '') : query)) {
      calls.push({ name: 'calculator', arguments: { expression } });
    }
  }
  const notify = query.match(/\bnotify\s+(?:me\s+)?(?:that\s+|about\s+)?(.+)/is);
  if (notify && available.has('notify')) {
    calls.push({ name: 'notify', arguments: { message: notify[1].trim().slice(0, 500) } });
    return calls;
  }
  if (/\b(time|clock|date|today)\b/i.test(query) && available.has('clock')) {
    const zone = query.match(/\bin\s+([A-Z][A-Za-z_]+\/[A-Za-z_]+)/);
    calls.push({ name: 'clock', arguments: zone ? { timezone: zone[1] } : {} });
  }
  return calls;
}

// "use thread_search {"query": "apollo"}": any offered tool, with JSON arguments.
function explicitCall(query: string, available: Set<string>): Omit<ToolCall, 'id'> | null {
  const match = query.match(/\buse\s+([A-Za-z0-9_-]+)(?:\s+(\{.*\}))?/s);
  if (!match || !available.has(match[1])) return null;
  try {
    const args = match[2] ? (JSON.parse(match[2]) as unknown) : {};
    if (typeof args !== 'object' || args === null || Array.isArray(args)) return null;
    return { name: match[1], arguments: args as Record<string, unknown> };
  } catch {
    return null;
  }
}

// "ask the researcher to find ...": delegation to an agent the delegate tool offers.
function delegationIn(query: string, tools: ToolSpec[]): Omit<ToolCall, 'id'> | null {
  const delegate = tools.find((t) => t.name === 'delegate');
  const match = query.match(/\bask\s+(?:the\s+)?([A-Za-z0-9_-]+)(?:\s+agent)?\s+to\s+(.+)/is);
  if (!delegate || !match) return null;
  const agents = (delegate.parameters as { properties?: { agent?: { enum?: string[] } } })
    .properties?.agent?.enum;
  if (!agents?.includes(match[1])) return null;
  return { name: 'delegate', arguments: { agent: match[1], task: match[2].trim() } };
}

// Runs of digits, operators and parentheses with at least two numbers and an operator between them.
function arithmeticIn(query: string): string[] {
  return (
    (query.match(/[-+*/%^().\d\s]+/g) ?? [])
      // Drop what cannot start or end an expression, such as a sentence's full stop: "2 + 2." -> "2 + 2".
      .map((s) =>
        s
          .trim()
          .replace(/^(?:[*/%^)\s]|\.(?!\d))+/, '')
          .replace(/[-+*/%^(\s.]+$/, ''),
      )
      .filter((s) => /\d\s*[-+*/%^]\s*[-+(]*\s*\.?\d/.test(s))
  );
}

function sentenceFor(message: ChatMessage): string {
  if (message.role !== 'tool') return '';
  const parsed = JSON.parse(message.content) as unknown;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return `${message.toolName} returned ${message.content}.`;
  }
  const result = parsed as Record<string, unknown>;
  if (result.rejected === true) {
    const why = typeof result.message === 'string' && result.message ? `: ${result.message}` : '';
    return `The ${message.toolName} call was rejected${why}.`;
  }
  if (message.isError) return `The ${message.toolName} tool failed: ${String(result.error)}.`;
  switch (message.toolName) {
    case 'delegate':
      return `${String(result.agent)} says: ${String(result.answer)}`;
    case 'calculator':
      return `${String(result.expression)} = ${String(result.value)}.`;
    case 'clock':
      return `The current time is ${String(result.local)} (${String(result.iso)}).`;
    case 'wait':
      return `I waited ${String(result.waited_seconds)} seconds.`;
    case 'notify':
      return `I recorded the notification: "${String(result.message)}".`;
    default:
      return `${message.toolName} returned ${message.content}.`;
  }
}

function describe(results: ChatMessage[]): string {
  const names = [...new Set(results.map((r) => (r.role === 'tool' ? r.toolName : '')))];
  return `the result${results.length > 1 ? 's' : ''} from ${names.join(' and ')}`;
}

function* words(text: string): Iterable<ModelChunk> {
  for (const piece of text.match(/\S+\s*/g) ?? []) yield { type: 'text', text: piece };
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}...` : text;
}

function findLastIndex<T>(items: T[], test: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (test(items[i])) return i;
  return -1;
}
