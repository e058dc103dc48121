import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';

export interface FakeOpenAi {
  // LLM_BASE_URL for the product: @ai-sdk/openai-compatible posts to `${baseURL}/chat/completions`.
  baseUrl: string;
  // performance.now() when the first content byte of the answer to a request was written, by the
  // probe tag found in the request's last user message (see `probe`).
  firstByteAt: Map<string, number>;
  // performance.now() when each content delta (`deltaText(i)`) was written, by probe tag.
  deltaAt: Map<string, number[]>;
  close(): Promise<void>;
}

// The text of the i-th content delta the fake streams.
export const deltaText = (i: number) => `word${i} `;

export interface FakeOpenAiOptions {
  chunks: number;
  intervalMs: number;
}

// The tag a query carries so that the provider can tell which run a request belongs to.
export const probe = (i: number) => `[probe ${i}]`;
const PROBE = /\[probe \d+\]/;

// An OpenAI-compatible Chat Completions endpoint in the generator's process (its clock is the
// client's): every streamed request is answered with `chunks` text deltas `intervalMs` apart, in
// the wire format of the real API (a role chunk, content chunks, a finish chunk, the usage chunk
// when stream_options.include_usage asks for it, [DONE]). It answers with text only, so the run
// ends after one model turn.
export async function startFakeOpenAi(options: FakeOpenAiOptions): Promise<FakeOpenAi> {
  const firstByteAt = new Map<string, number>();
  const deltaAt = new Map<string, number[]>();
  const server: Server = createServer((req, res) => {
    void answer(req, res, options, firstByteAt, deltaAt).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    firstByteAt,
    deltaAt,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function answer(
  req: IncomingMessage,
  res: ServerResponse,
  { chunks, intervalMs }: FakeOpenAiOptions,
  firstByteAt: Map<string, number>,
  deltaAt: Map<string, number[]>,
): Promise<void> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}` } }));
    return;
  }
  const body = JSON.parse(text) as {
    model: string;
    messages: { role: string; content: unknown }[];
    stream_options?: { include_usage?: boolean };
  };
  const lastUser = [...body.messages].reverse().find((m) => m.role === 'user');
  const tag = PROBE.exec(JSON.stringify(lastUser?.content ?? ''))?.[0] ?? '';
  const base = {
    id: `chatcmpl-bench${Date.now()}`,
    object: 'chat.completion.chunk',
    created: Math.floor(Date.now() / 1000),
    model: body.model,
  };
  const frame = (choices: unknown[], usage?: unknown) =>
    `data: ${JSON.stringify({ ...base, choices, ...(usage ? { usage } : {}) })}\n\n`;
  const delta = (d: Record<string, unknown>, finish: string | null = null) => ({
    index: 0,
    delta: d,
    logprobs: null,
    finish_reason: finish,
  });
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
  });
  res.write(frame([delta({ role: 'assistant', content: '' })]));
  const times: number[] = [];
  if (tag) deltaAt.set(tag, times);
  for (let i = 0; i < chunks; i++) {
    // The pace of a real model's tokens: what the backend's own delay is measured against.
    if (i > 0) await delay(intervalMs);
    if (i === 0) firstByteAt.set(tag, performance.now());
    times.push(performance.now());
    res.write(frame([delta({ content: deltaText(i) })]));
  }
  res.write(frame([delta({}, 'stop')]));
  if (body.stream_options?.include_usage) {
    res.write(
      frame([], { prompt_tokens: 10, completion_tokens: chunks, total_tokens: 10 + chunks }),
    );
  }
  res.end('data: [DONE]\n\n');
}
