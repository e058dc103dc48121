import { Injectable } from '@nestjs/common';
import { PER_USER } from '../context/per-user';
import { ConfigService } from '@nestjs/config';
import { DomainError } from '../common/domain.error';
import { EnvironmentVariables } from '../config/env.validation';
import { UserContext } from '../context/user-context';
import { UsageQueryDto } from './dto/usage-query.dto';
import { costOf, parsePrices, PriceTable } from './llm-prices';
import { UsageStore } from './usage.store';
import {
  CostedUsageView,
  ModelUsageView,
  RunCostView,
  ThreadUsageView,
  UsageView,
} from './usage.views';

export const MAX_LISTED_RUNS = 1000;
const DEFAULT_PERIOD_MS = 30 * 86_400_000;
// The built-in offline model costs nothing; every other price comes from LLM_PRICES.
const BUILT_IN_PRICES: [string, { input: number; output: number }][] = [
  ['offline', { input: 0, output: 0 }],
];

// Token usage turned into money, for the user of the request: per run, per thread, per model and
// in total, over a period of run start times.
@Injectable(PER_USER)
export class UsageService {
  private readonly prices: PriceTable;

  constructor(
    private readonly ctx: UserContext,
    private readonly store: UsageStore,
    config: ConfigService<EnvironmentVariables, true>,
  ) {
    this.prices = new Map([
      ...BUILT_IN_PRICES,
      ...parsePrices(config.get('LLM_PRICES', { infer: true })),
    ]);
  }

  async usage(query: UsageQueryDto): Promise<UsageView> {
    const to = query.to ? new Date(query.to) : new Date();
    const from = query.from ? new Date(query.from) : new Date(to.getTime() - DEFAULT_PERIOD_MS);
    if (from >= to) {
      throw DomainError.validation([{ field: 'from', messages: ['from must be before to'] }]);
    }
    const userId = this.ctx.userId;
    const [rows, perThread, runRows] = await Promise.all([
      this.store.byThreadAndModel(userId, from, to),
      this.store.runsPerThread(userId, from, to),
      this.store.newestRuns(userId, from, to, MAX_LISTED_RUNS),
    ]);
    const total = new Tally();
    const models = new Map<string, Tally>();
    // Every thread with runs in the period, those that used no tokens too.
    const threads = new Map(
      perThread.map(({ thread_id, n }) => [thread_id, Object.assign(new Tally(), { runs: n })]),
    );
    for (const row of rows) {
      const cost = costOf(this.prices, row.model, row);
      total.add(row, cost);
      tallyOf(models, row.model).add(row, cost);
      threads.get(row.thread_id)?.add(row, cost);
    }
    const runsCount = perThread.reduce((sum, t) => sum + t.n, 0);
    const runs = new Map<
      string,
      { view: Omit<RunCostView, keyof CostedUsageView>; tally: Tally }
    >();
    for (const row of runRows) {
      const entry = runs.get(row.run_id) ?? {
        view: {
          run_id: row.run_id,
          thread_id: row.thread_id,
          created_at: row.created_at.toISOString(),
        },
        tally: new Tally(),
      };
      if (row.model !== null) entry.tally.add(row, costOf(this.prices, row.model, row));
      runs.set(row.run_id, entry);
    }
    return {
      from: from.toISOString(),
      to: to.toISOString(),
      ...total.view(),
      runs_count: runsCount,
      models: [...models].map(([model, t]): ModelUsageView => ({ model, ...t.view() })),
      threads: [...threads]
        .map(([id, t]): ThreadUsageView => ({ thread_id: id, runs: t.runs, ...t.view() }))
        .sort((a, b) => b.input_tokens + b.output_tokens - (a.input_tokens + a.output_tokens)),
      runs: [...runs.values()].map(({ view, tally }) => ({ ...view, ...tally.view() })),
      runs_truncated: runsCount > MAX_LISTED_RUNS,
    };
  }
}

// Tokens and dollars added up; the cost is null as soon as one part of it has no price.
class Tally {
  input = 0;
  output = 0;
  cost: number | null = 0;

  add(tokens: { input_tokens: number; output_tokens: number }, cost: number | null): void {
    this.input += tokens.input_tokens;
    this.output += tokens.output_tokens;
    this.cost = this.cost === null || cost === null ? null : this.cost + cost;
  }

  view(): CostedUsageView {
    return { input_tokens: this.input, output_tokens: this.output, cost_usd: this.cost };
  }
}

function tallyOf(map: Map<string, Tally>, key: string): Tally {
  let tally = map.get(key);
  if (!tally) {
    tally = new Tally();
    map.set(key, tally);
  }
  return tally;
}
