import { Agent } from 'node:http';
import { probe, startFakeOpenAi } from '../lib/fake-openai';
import { clientTokens, QUERY, startProduct } from '../lib/product';
import { runOnce } from '../lib/runs-client';
import { median, quantile, summarise } from '../lib/stats';
import { BenchContext, FigureResult } from './figure';

const CHUNKS = 20;
const INTERVAL_MS = 5;
const TARGET_P50_MS = 10;
const TARGET_P99_MS = 40;

// One run: its first chunk's arrival after the provider's first content byte, that byte after
// the POST (ms), and how many agent_response_chunk events the answer came in.
interface Probe {
  addedMs: number;
  providerAfterStartMs: number;
  chunkEvents: number;
}

// Time to first token added by the backend: the product on LLM_PROVIDER=openai-compatible against
// a fake provider in this process (bench/lib/fake-openai.ts: CHUNKS text deltas INTERVAL_MS
// apart), runs one at a time, each followed over SSE. Added latency = when the run's first
// agent_response_chunk reached the client - when the provider wrote its first content byte, both
// on this process's clock. No baseline server: the ratio column is each round's percentile over
// its target.
export async function ttftFigure(ctx: BenchContext): Promise<FigureResult> {
  const fake = await startFakeOpenAi({ chunks: CHUNKS, intervalMs: INTERVAL_MS });
  const product = await startProduct(ctx, await ctx.database('ttft'), {
    LLM_PROVIDER: 'openai-compatible',
    LLM_MODEL: 'bench-fake',
    LLM_BASE_URL: fake.baseUrl,
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const [token] = await clientTokens(1);
    const perRound = Math.max(3, Math.round(ctx.seconds * 20));
    let next = 0;
    let errors = 0;
    const once = async (): Promise<Probe | null> => {
      const tag = probe(next++);
      let first: number | undefined;
      let chunkEvents = 0;
      try {
        const run = await runOnce(agent, product.port, token, `${QUERY} ${tag}`, {
          onEvent: (type, at) => {
            if (type !== 'agent_response_chunk') return;
            first ??= at;
            chunkEvents += 1;
          },
        });
        const provider = fake.firstByteAt.get(tag);
        if (first === undefined || provider === undefined) throw new Error('no chunk');
        return {
          addedMs: first - provider,
          providerAfterStartMs: provider - run.startedAt,
          chunkEvents,
        };
      } catch {
        errors += 1;
        return null;
      }
    };
    // Warm-up: the model client, the JIT, the pools.
    const warmup = Math.max(2, Math.round(ctx.warmupSeconds * 10));
    for (let i = 0; i < warmup; i++) await once();
    errors = 0;
    const rounds: Probe[][] = [];
    for (let r = 0; r < ctx.rounds; r++) {
      const round: Probe[] = [];
      for (let i = 0; i < perRound; i++) {
        const p = await once();
        if (p) round.push(p);
      }
      if (round.length === 0) throw new Error(`no run streamed a chunk (${errors} errors)`);
      rounds.push(round);
    }
    const added = rounds.flat().map((p) => p.addedMs);
    const per = (q: number, target: number) =>
      summarise(
        rounds.map(
          (round) =>
            quantile(
              round.map((p) => p.addedMs),
              q,
            ) / target,
        ),
      );
    const qs = [0.01, 0.1, 0.5, 0.9, 0.99, 0.999];
    return {
      name: 'ttft',
      title: 'Time to first token added by the backend (fake OpenAI-compatible provider)',
      rows: [
        {
          figure: `first chunk added, p50 (ratio: p50 / ${TARGET_P50_MS} ms)`,
          product: `${quantile(added, 0.5).toFixed(1)} ms`,
          baseline: '-',
          ratio: per(0.5, TARGET_P50_MS),
          target: `<= ${TARGET_P50_MS} ms`,
        },
        {
          figure: `first chunk added, p99 (ratio: p99 / ${TARGET_P99_MS} ms)`,
          product: `${quantile(added, 0.99).toFixed(1)} ms`,
          baseline: '-',
          ratio: per(0.99, TARGET_P99_MS),
          target: `<= ${TARGET_P99_MS} ms`,
        },
      ],
      latencies: { product: added, baseline: [] },
      chart: {
        label: 'first agent_response_chunk at the client after the provider\u2019s first byte (ms)',
      },
      errors,
      notes: [
        `${added.length} runs, one at a time, ${perRound} a round, each followed over SSE; the ` +
          `provider streams ${CHUNKS} text deltas ${INTERVAL_MS} ms apart. Added latency: ` +
          qs.map((q) => `p${q * 100} ${quantile(added, q).toFixed(1)} ms`).join(', ') +
          '. From the POST to the provider\u2019s first byte (the queue, the model request): p50 ' +
          `${median(rounds.flat().map((p) => p.providerAfterStartMs)).toFixed(1)} ms. The ` +
          `${CHUNKS} deltas reached the client as ` +
          `${median(rounds.flat().map((p) => p.chunkEvents))} agent_response_chunk events (median).`,
      ],
    };
  } finally {
    agent.destroy();
    await product.stop();
    await fake.close();
  }
}
