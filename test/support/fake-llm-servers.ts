// Fake LLM provider HTTP servers for tests. Each one listens on 127.0.0.1 (port 0) with node's
// http module and answers with the same bytes the real API sends, so the real AI SDK providers
// (@ai-sdk/openai, @ai-sdk/openai-compatible, @ai-sdk/anthropic) parse them unchanged.
//
//   const openai = await startFakeOpenAi();        // baseURL http://127.0.0.1:PORT/v1
//   openai.enqueue(textTurn('Hello!'), { status: 429 }, toolCallTurn([...]));
//   ... run the code under test ...
//   expect(openai.requests[0].body.model).toBe('gpt-4o-mini');
//   await openai.close();
//
// Every request takes the next scripted response from a FIFO queue. An empty queue answers 500
// in the provider's error shape (with retry-after-ms: 0 so SDK retries give up fast).
import {
  createServer,
  IncomingHttpHeaders,
  IncomingMessage,
  Server,
  ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

// ---------------------------------------------------------------------------------------------
// Scripted responses
// ---------------------------------------------------------------------------------------------

export interface FakeUsage {
  inputTokens: number;
  outputTokens: number;
}

export interface FakeToolCall {
  id: string;
  name: string;
  // Serialized with JSON.stringify; a string is sent verbatim (e.g. to script invalid JSON).
  arguments: Record<string, unknown> | string;
}

export type FakeTurnPart =
  | { type: 'text'; text: string }
  // Anthropic: a thinking block (thinking_delta + signature_delta). OpenAI-compatible: the
  // `reasoning_content` delta field (DeepSeek style); @ai-sdk/openai ignores it, as real OpenAI
  // Chat Completions never streams reasoning.
  | { type: 'reasoning'; text: string; signature?: string }
  | ({ type: 'tool-call' } & FakeToolCall);

export interface FakeStreamError {
  // OpenAI: error.type (default "server_error"); Anthropic: error.type (default "overloaded_error").
  type?: string;
  message?: string;
  // OpenAI only: error.code.
  code?: string | null;
}

export interface FakeTurnOptions {
  // Characters per text / reasoning / tool-argument fragment. Default: text and reasoning are
  // split into word-sized pieces ("Hello", " world"), tool arguments into 8-character pieces.
  chunkSize?: number;
  // Defaults: inputTokens 10, outputTokens = number of streamed fragments.
  usage?: Partial<FakeUsage>;
  // Pause before each SSE frame after the first (and before an error response).
  delayMs?: number;
  // The *AfterChunks counts are SSE frames from the start of the body, bookkeeping frames included
  // (OpenAI: the role chunk; Anthropic: message_start, content_block_start, ping).
  // Write this many SSE frames, then destroy the socket (the client sees a truncated body).
  breakAfterChunks?: number;
  // Write this many SSE frames, then one truncated (unparseable) data line, then end cleanly.
  malformedAfterChunks?: number;
  // Write this many SSE frames, then the provider's in-stream error event, then end cleanly.
  errorAfterChunks?: number;
  streamError?: FakeStreamError;
  // Overrides the finish / stop reason ("length", "max_tokens", ...).
  finishReason?: string;
  // Model name echoed in the response (default: the request's `model`).
  model?: string;
  // Extra response headers.
  headers?: Record<string, string>;
}

export interface FakeTurn extends FakeTurnOptions {
  kind: 'turn';
  parts: FakeTurnPart[];
}

export interface FakeHttpError {
  status: number;
  headers?: Record<string, string>;
  // Response body: a string is sent verbatim, anything else as JSON. Default: the provider's real
  // error JSON for the status.
  body?: unknown;
  // Error message put into the default body.
  message?: string;
  // For retryable statuses (408, 409, 429, >= 500) the fake adds `retry-after-ms` and
  // `retry-after: 0` so SDK retries wait this long instead of 2 s, 4 s, ... Default 10; null
  // sends no retry headers (the SDK then uses its exponential backoff).
  retryAfterMs?: number | null;
  delayMs?: number;
}

export type ScriptedResponse = FakeTurn | FakeHttpError;

export function turn(parts: FakeTurnPart[], options: FakeTurnOptions = {}): FakeTurn {
  return { ...options, kind: 'turn', parts };
}

export function textTurn(text: string, options: FakeTurnOptions = {}): FakeTurn {
  return turn([{ type: 'text', text }], options);
}

export function toolCallTurn(
  calls: FakeToolCall[],
  options: FakeTurnOptions & { text?: string } = {},
): FakeTurn {
  const { text, ...rest } = options;
  const parts: FakeTurnPart[] = text === undefined ? [] : [{ type: 'text', text }];
  for (const call of calls) parts.push({ type: 'tool-call', ...call });
  return turn(parts, rest);
}

export function reasoningThenText(
  reasoning: string,
  text: string,
  options: FakeTurnOptions & { signature?: string } = {},
): FakeTurn {
  const { signature, ...rest } = options;
  return turn(
    [
      { type: 'reasoning', text: reasoning, signature },
      { type: 'text', text },
    ],
    rest,
  );
}

export function httpError(
  status: number,
  options: Omit<FakeHttpError, 'status'> = {},
): FakeHttpError {
  return { ...options, status };
}

// ---------------------------------------------------------------------------------------------
// Recorded requests
// ---------------------------------------------------------------------------------------------

export interface RecordedRequest {
  method: string;
  // Path with query string, e.g. "/v1/chat/completions".
  path: string;
  headers: IncomingHttpHeaders;
  // Parsed JSON body (the raw string when it is not JSON, undefined when empty).
  body: any;
  rawBody: string;
}

// ---------------------------------------------------------------------------------------------
// Shared server machinery
// ---------------------------------------------------------------------------------------------

interface RenderedStream {
  headers: Record<string, string>;
  frames: string[];
}

const DEFAULT_RETRY_AFTER_MS = 10;

function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

function splitText(text: string, chunkSize: number | undefined): string[] {
  if (chunkSize !== undefined) return splitBySize(text, chunkSize);
  return text.match(/\s*\S+|\s+$/g) ?? [];
}

function splitBySize(text: string, size: number): string[] {
  const chars = Array.from(text); // keep surrogate pairs together
  const step = Math.max(1, Math.floor(size));
  const out: string[] = [];
  for (let i = 0; i < chars.length; i += step) out.push(chars.slice(i, i + step).join(''));
  return out;
}

function argumentsJson(call: FakeToolCall): string {
  return typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function randomId(length = 24): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let id = '';
  for (let i = 0; i < length; i++) id += alphabet[Math.floor(Math.random() * alphabet.length)];
  return id;
}

function isTurn(response: ScriptedResponse): response is FakeTurn {
  return 'kind' in response && response.kind === 'turn';
}

function writeAsync(res: ServerResponse, chunk: string): Promise<void> {
  return new Promise((resolve) => {
    if (res.destroyed || res.writableEnded) return resolve();
    res.write(chunk, () => resolve());
  });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export abstract class FakeLlmServer {
  readonly requests: RecordedRequest[] = [];
  private readonly queue: ScriptedResponse[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  private port = 0;

  protected abstract readonly providerName: string;

  constructor() {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`fake server failure: ${String(err)}`);
        } else {
          res.destroy();
        }
      });
    });
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  // e.g. http://127.0.0.1:PORT/v1 — pass as the provider's baseURL.
  get baseURL(): string {
    return `http://127.0.0.1:${this.port}/v1`;
  }

  // Scripted responses not yet consumed.
  get pending(): number {
    return this.queue.length;
  }

  get lastRequest(): RecordedRequest | undefined {
    return this.requests[this.requests.length - 1];
  }

  enqueue(...responses: ScriptedResponse[]): this {
    this.queue.push(...responses);
    return this;
  }

  // Drops queued responses and recorded requests.
  reset(): void {
    this.queue.length = 0;
    this.requests.length = 0;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await closed;
  }

  protected abstract isModelRoute(method: string, path: string): boolean;
  protected abstract notFoundBody(method: string, path: string): unknown;
  protected abstract errorBody(status: number, message: string | undefined, body: unknown): unknown;
  protected abstract renderStream(turn: FakeTurn, request: RecordedRequest): RenderedStream;
  protected abstract renderJson(turn: FakeTurn, request: RecordedRequest): unknown;
  protected abstract malformedFrame(): string;
  protected abstract streamErrorFrame(error: FakeStreamError): string;
  protected abstract jsonHeaders(): Record<string, string>;

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawBody = await readBody(req);
    let body: unknown = undefined;
    if (rawBody.length > 0) {
      try {
        body = JSON.parse(rawBody);
      } catch {
        body = rawBody;
      }
    }
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const request: RecordedRequest = { method, path, headers: req.headers, body, rawBody };
    this.requests.push(request);

    const pathname = path.split('?')[0];
    if (!this.isModelRoute(method, pathname)) {
      this.sendJson(res, 404, this.notFoundBody(method, pathname));
      return;
    }

    const response = this.queue.shift();
    if (response === undefined) {
      const message =
        `Fake ${this.providerName} server has no scripted response for ${method} ${path} ` +
        `(request #${this.requests.length}); call server.enqueue(...) first.`;
      this.sendJson(res, 500, this.errorBody(500, message, body), {
        'retry-after-ms': '0',
        'retry-after': '0',
      });
      return;
    }

    if (!isTurn(response)) {
      if (response.delayMs) await sleep(response.delayMs);
      const retryAfterMs =
        response.retryAfterMs === undefined ? DEFAULT_RETRY_AFTER_MS : response.retryAfterMs;
      const retryHeaders: Record<string, string> =
        retryAfterMs !== null && isRetryableStatus(response.status)
          ? { 'retry-after-ms': String(retryAfterMs), 'retry-after': '0' }
          : {};
      const payload =
        response.body !== undefined
          ? response.body
          : this.errorBody(response.status, response.message, body);
      this.sendJson(res, response.status, payload, { ...retryHeaders, ...response.headers });
      return;
    }

    const wantsStream =
      typeof body === 'object' && body !== null && (body as { stream?: unknown }).stream === true;
    if (!wantsStream) {
      if (response.delayMs) await sleep(response.delayMs);
      this.sendJson(res, 200, this.renderJson(response, request), response.headers);
      return;
    }
    await this.writeStream(res, response, request);
  }

  private sendJson(
    res: ServerResponse,
    status: number,
    payload: unknown,
    headers: Record<string, string> = {},
  ): void {
    const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
    res.writeHead(status, {
      ...this.jsonHeaders(),
      'content-length': String(Buffer.byteLength(text)),
      ...headers,
    });
    res.end(text);
  }

  private async writeStream(
    res: ServerResponse,
    scripted: FakeTurn,
    request: RecordedRequest,
  ): Promise<void> {
    const { headers, frames } = this.renderStream(scripted, request);
    res.writeHead(200, { ...headers, ...scripted.headers });
    res.flushHeaders();

    const cut = (n: number | undefined) =>
      n === undefined ? Infinity : Math.max(0, Math.floor(n));
    const breakAt = cut(scripted.breakAfterChunks);
    const malformedAt = cut(scripted.malformedAfterChunks);
    const errorAt = cut(scripted.errorAfterChunks);

    for (let i = 0; i <= frames.length; i++) {
      if (res.destroyed) return; // the client went away
      if (i === breakAt) {
        res.destroy(); // closes the socket mid-body: the client sees a terminated stream
        return;
      }
      if (i === malformedAt) {
        await writeAsync(res, this.malformedFrame());
        res.end();
        return;
      }
      if (i === errorAt) {
        await writeAsync(res, this.streamErrorFrame(scripted.streamError ?? {}));
        res.end();
        return;
      }
      if (i === frames.length) break;
      if (i > 0 && scripted.delayMs) await sleep(scripted.delayMs);
      await writeAsync(res, frames[i]);
    }
    res.end();
  }
}

// Output token default: one "token" per streamed fragment.
function countFragments(turn: FakeTurn): number {
  let count = 0;
  for (const part of turn.parts) {
    if (part.type === 'tool-call')
      count += splitBySize(argumentsJson(part), turn.chunkSize ?? 8).length;
    else count += splitText(part.text, turn.chunkSize).length;
  }
  return Math.max(1, count);
}

function resolveUsage(turn: FakeTurn): FakeUsage {
  return {
    inputTokens: turn.usage?.inputTokens ?? 10,
    outputTokens: turn.usage?.outputTokens ?? countFragments(turn),
  };
}

function requestModel(request: RecordedRequest, fallback: string): string {
  const body = request.body as { model?: unknown } | undefined;
  return typeof body?.model === 'string' ? body.model : fallback;
}

// ---------------------------------------------------------------------------------------------
// OpenAI Chat Completions
// ---------------------------------------------------------------------------------------------

interface OpenAiToolCallDelta {
  index: number;
  id?: string;
  type?: 'function';
  function: { name?: string; arguments: string };
}

interface OpenAiDelta {
  role?: 'assistant';
  content?: string | null;
  reasoning_content?: string;
  tool_calls?: OpenAiToolCallDelta[];
  refusal?: null;
}

const OPENAI_ERRORS: Record<number, { message: string; type: string; code: string | null }> = {
  400: { message: 'Invalid request.', type: 'invalid_request_error', code: null },
  401: {
    message:
      'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.',
    type: 'invalid_request_error',
    code: 'invalid_api_key',
  },
  403: {
    message: 'You are not allowed to sample from this model',
    type: 'invalid_request_error',
    code: null,
  },
  404: {
    message: 'The model does not exist or you do not have access to it.',
    type: 'invalid_request_error',
    code: 'model_not_found',
  },
  429: {
    message: 'Rate limit reached for requests. Please try again in 10ms.',
    type: 'requests',
    code: 'rate_limit_exceeded',
  },
  500: {
    message: 'The server had an error while processing your request. Sorry about that!',
    type: 'server_error',
    code: null,
  },
  503: {
    message: 'The engine is currently overloaded, please try again later',
    type: 'server_error',
    code: null,
  },
};

export class FakeOpenAiServer extends FakeLlmServer {
  protected readonly providerName = 'OpenAI';

  protected isModelRoute(method: string, path: string): boolean {
    return method === 'POST' && path === '/v1/chat/completions';
  }

  protected notFoundBody(method: string, path: string): unknown {
    const hint =
      path === '/v1/responses'
        ? ' The fake serves only Chat Completions: use createOpenAI(...).chat(model).'
        : '';
    return {
      error: {
        message: `Invalid URL (${method} ${path}).${hint}`,
        type: 'invalid_request_error',
        param: null,
        code: null,
      },
    };
  }

  protected errorBody(status: number, message: string | undefined): unknown {
    const known = OPENAI_ERRORS[status] ?? {
      message: `HTTP ${status}`,
      type: status >= 500 ? 'server_error' : 'invalid_request_error',
      code: null,
    };
    return {
      error: { message: message ?? known.message, type: known.type, param: null, code: known.code },
    };
  }

  protected jsonHeaders(): Record<string, string> {
    return { 'content-type': 'application/json', 'x-request-id': `req_${randomId(32)}` };
  }

  protected malformedFrame(): string {
    return 'data: {"id":"chatcmpl-broken","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"tru\n\n';
  }

  protected streamErrorFrame(error: FakeStreamError): string {
    const payload = {
      error: {
        message: error.message ?? OPENAI_ERRORS[500].message,
        type: error.type ?? 'server_error',
        param: null,
        code: error.code ?? null,
      },
    };
    return `data: ${JSON.stringify(payload)}\n\n`;
  }

  protected renderStream(turn: FakeTurn, request: RecordedRequest): RenderedStream {
    const body = request.body as { stream_options?: { include_usage?: boolean } } | undefined;
    const includeUsage = body?.stream_options?.include_usage === true;
    const id = `chatcmpl-${randomId(29)}`;
    const created = Math.floor(Date.now() / 1000);
    const model = turn.model ?? requestModel(request, 'gpt-4o-mini');
    const base = {
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      service_tier: 'default',
      system_fingerprint: 'fp_fake0000',
    };
    const chunk = (choices: unknown[], usage?: unknown) =>
      `data: ${JSON.stringify({ ...base, choices, ...(includeUsage ? { usage: usage ?? null } : {}) })}\n\n`;
    const choice = (delta: OpenAiDelta, finishReason: string | null = null) => ({
      index: 0,
      delta,
      logprobs: null,
      finish_reason: finishReason,
    });

    const deltas: OpenAiDelta[] = [];
    let toolIndex = 0;
    for (const part of turn.parts) {
      switch (part.type) {
        case 'text':
          for (const piece of splitText(part.text, turn.chunkSize)) deltas.push({ content: piece });
          break;
        case 'reasoning':
          for (const piece of splitText(part.text, turn.chunkSize))
            deltas.push({ content: null, reasoning_content: piece });
          break;
        case 'tool-call': {
          const index = toolIndex++;
          deltas.push({
            tool_calls: [
              {
                index,
                id: part.id,
                type: 'function',
                function: { name: part.name, arguments: '' },
              },
            ],
          });
          for (const piece of splitBySize(argumentsJson(part), turn.chunkSize ?? 8))
            deltas.push({ tool_calls: [{ index, function: { arguments: piece } }] });
          break;
        }
      }
    }
    // The real API opens with the role: alone (content "") before text, merged into the first
    // delta (content null) before a tool call or reasoning.
    if (deltas.length === 0 || (deltas[0].content !== undefined && deltas[0].content !== null)) {
      deltas.unshift({ role: 'assistant', content: '', refusal: null });
    } else {
      deltas[0] = { role: 'assistant', content: null, ...deltas[0], refusal: null };
    }

    const hasToolCalls = turn.parts.some((p) => p.type === 'tool-call');
    const finishReason = turn.finishReason ?? (hasToolCalls ? 'tool_calls' : 'stop');
    const frames = deltas.map((delta) => chunk([choice(delta)]));
    frames.push(chunk([choice({}, finishReason)]));
    if (includeUsage) frames.push(chunk([], openAiUsage(resolveUsage(turn))));
    frames.push('data: [DONE]\n\n');
    return {
      headers: {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        'x-request-id': `req_${randomId(32)}`,
        'openai-processing-ms': '1',
      },
      frames,
    };
  }

  protected renderJson(turn: FakeTurn, request: RecordedRequest): unknown {
    const text = turn.parts
      .filter((p) => p.type === 'text')
      .map((p) => p.text)
      .join('');
    const reasoning = turn.parts
      .filter((p) => p.type === 'reasoning')
      .map((p) => p.text)
      .join('');
    const toolCalls = turn.parts
      .filter((p) => p.type === 'tool-call')
      .map((p) => ({
        id: p.id,
        type: 'function',
        function: { name: p.name, arguments: argumentsJson(p) },
      }));
    const hasText = turn.parts.some((p) => p.type === 'text');
    return {
      id: `chatcmpl-${randomId(29)}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: turn.model ?? requestModel(request, 'gpt-4o-mini'),
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: hasText ? text : null,
            refusal: null,
            annotations: [],
            ...(reasoning ? { reasoning_content: reasoning } : {}),
            ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
          },
          logprobs: null,
          finish_reason: turn.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop'),
        },
      ],
      usage: openAiUsage(resolveUsage(turn)),
      service_tier: 'default',
      system_fingerprint: 'fp_fake0000',
    };
  }
}

function openAiUsage(usage: FakeUsage) {
  return {
    prompt_tokens: usage.inputTokens,
    completion_tokens: usage.outputTokens,
    total_tokens: usage.inputTokens + usage.outputTokens,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Anthropic Messages
// ---------------------------------------------------------------------------------------------

const ANTHROPIC_ERRORS: Record<number, { type: string; message: string }> = {
  400: { type: 'invalid_request_error', message: 'Invalid request.' },
  401: { type: 'authentication_error', message: 'invalid x-api-key' },
  402: { type: 'billing_error', message: 'Your credit balance is too low.' },
  403: { type: 'permission_error', message: 'Your API key does not have permission.' },
  404: { type: 'not_found_error', message: 'model: not found' },
  413: { type: 'request_too_large', message: 'Request exceeds the maximum allowed size.' },
  429: {
    type: 'rate_limit_error',
    message: 'Number of requests has exceeded your per-minute rate limit.',
  },
  500: { type: 'api_error', message: 'Internal server error' },
  503: { type: 'api_error', message: 'Service unavailable' },
  504: { type: 'timeout_error', message: 'Request timed out' },
  529: { type: 'overloaded_error', message: 'Overloaded' },
};

export class FakeAnthropicServer extends FakeLlmServer {
  protected readonly providerName = 'Anthropic';

  protected isModelRoute(method: string, path: string): boolean {
    return method === 'POST' && path === '/v1/messages';
  }

  protected notFoundBody(): unknown {
    return {
      type: 'error',
      error: { type: 'not_found_error', message: 'Not Found' },
      request_id: `req_${randomId(24)}`,
    };
  }

  protected errorBody(status: number, message: string | undefined): unknown {
    const known = ANTHROPIC_ERRORS[status] ?? {
      type: status >= 500 ? 'api_error' : 'invalid_request_error',
      message: `HTTP ${status}`,
    };
    return {
      type: 'error',
      error: { type: known.type, message: message ?? known.message },
      request_id: `req_${randomId(24)}`,
    };
  }

  protected jsonHeaders(): Record<string, string> {
    return { 'content-type': 'application/json', 'request-id': `req_${randomId(24)}` };
  }

  protected malformedFrame(): string {
    return 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_del\n\n';
  }

  protected streamErrorFrame(error: FakeStreamError): string {
    const payload = {
      type: 'error',
      error: { type: error.type ?? 'overloaded_error', message: error.message ?? 'Overloaded' },
    };
    return `event: error\ndata: ${JSON.stringify(payload)}\n\n`;
  }

  protected renderStream(turn: FakeTurn, request: RecordedRequest): RenderedStream {
    const event = (type: string, data: Record<string, unknown>) =>
      `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
    const usage = resolveUsage(turn);
    const frames: string[] = [
      event('message_start', {
        message: {
          id: `msg_${randomId(24)}`,
          type: 'message',
          role: 'assistant',
          model: turn.model ?? requestModel(request, 'claude-sonnet-4-5'),
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: {
            input_tokens: usage.inputTokens,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 0,
            output_tokens: 1,
            service_tier: 'standard',
          },
        },
      }),
    ];
    turn.parts.forEach((part, index) => {
      const delta = (d: Record<string, unknown>) =>
        frames.push(event('content_block_delta', { index, delta: d }));
      switch (part.type) {
        case 'text':
          frames.push(
            event('content_block_start', { index, content_block: { type: 'text', text: '' } }),
          );
          if (index === 0) frames.push(event('ping', {}));
          for (const piece of splitText(part.text, turn.chunkSize))
            delta({ type: 'text_delta', text: piece });
          break;
        case 'reasoning':
          frames.push(
            event('content_block_start', {
              index,
              content_block: { type: 'thinking', thinking: '', signature: '' },
            }),
          );
          if (index === 0) frames.push(event('ping', {}));
          for (const piece of splitText(part.text, turn.chunkSize))
            delta({ type: 'thinking_delta', thinking: piece });
          delta({ type: 'signature_delta', signature: part.signature ?? fakeSignature() });
          break;
        case 'tool-call':
          frames.push(
            event('content_block_start', {
              index,
              content_block: { type: 'tool_use', id: part.id, name: part.name, input: {} },
            }),
          );
          if (index === 0) frames.push(event('ping', {}));
          delta({ type: 'input_json_delta', partial_json: '' });
          for (const piece of splitBySize(argumentsJson(part), turn.chunkSize ?? 8))
            delta({ type: 'input_json_delta', partial_json: piece });
          break;
      }
      frames.push(event('content_block_stop', { index }));
    });
    frames.push(
      event('message_delta', {
        delta: { stop_reason: anthropicStopReason(turn), stop_sequence: null },
        usage: { output_tokens: usage.outputTokens },
      }),
      event('message_stop', {}),
    );
    return {
      headers: {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        'request-id': `req_${randomId(24)}`,
      },
      frames,
    };
  }

  protected renderJson(turn: FakeTurn, request: RecordedRequest): unknown {
    const usage = resolveUsage(turn);
    return {
      id: `msg_${randomId(24)}`,
      type: 'message',
      role: 'assistant',
      model: turn.model ?? requestModel(request, 'claude-sonnet-4-5'),
      content: turn.parts.map((part) => {
        switch (part.type) {
          case 'text':
            return { type: 'text', text: part.text };
          case 'reasoning':
            return {
              type: 'thinking',
              thinking: part.text,
              signature: part.signature ?? fakeSignature(),
            };
          case 'tool-call':
            return {
              type: 'tool_use',
              id: part.id,
              name: part.name,
              input: toolInputObject(part),
            };
        }
      }),
      stop_reason: anthropicStopReason(turn),
      stop_sequence: null,
      usage: {
        input_tokens: usage.inputTokens,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        output_tokens: usage.outputTokens,
        service_tier: 'standard',
      },
    };
  }
}

function anthropicStopReason(turn: FakeTurn): string {
  return (
    turn.finishReason ?? (turn.parts.some((p) => p.type === 'tool-call') ? 'tool_use' : 'end_turn')
  );
}

// The non-streaming API returns tool input as an object; a scripted string is parsed when it is
// JSON and otherwise sent as is.
function toolInputObject(call: FakeToolCall): unknown {
  if (typeof call.arguments !== 'string') return call.arguments;
  try {
    return JSON.parse(call.arguments) as unknown;
  } catch {
    return call.arguments;
  }
}

function fakeSignature(): string {
  return Buffer.from(`fake-signature-${randomId(16)}`).toString('base64');
}

// ---------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------

export function startFakeOpenAi(): Promise<FakeOpenAiServer> {
  return new FakeOpenAiServer().listen();
}

export function startFakeAnthropic(): Promise<FakeAnthropicServer> {
  return new FakeAnthropicServer().listen();
}
