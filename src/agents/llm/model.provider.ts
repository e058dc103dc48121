import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { LanguageModel } from 'ai';
import { EnvironmentVariables } from '../../config/env.validation';
import { AiSdkModel } from './ai-sdk.model';
import { ChatModel } from './chat-model.port';
import { OfflineModel } from './offline.model';

// Picks the model of a run: the configured provider, the configured model or one of the other
// models the configuration allows (LLM_MODELS).
@Injectable()
export class ModelProvider {
  private readonly env: EnvironmentVariables;
  private readonly models = new Map<string, ChatModel>();

  constructor(
    config: ConfigService<EnvironmentVariables, true>,
    private readonly offline: OfflineModel,
  ) {
    this.env = {
      LLM_PROVIDER: config.get('LLM_PROVIDER', { infer: true }),
      LLM_MODEL: config.get('LLM_MODEL', { infer: true }),
      LLM_BASE_URL: config.get('LLM_BASE_URL', { infer: true }),
      LLM_API_KEY: config.get('LLM_API_KEY', { infer: true }),
      LLM_MODELS: config.get('LLM_MODELS', { infer: true }),
      LLM_TIMEOUT_MS: config.get('LLM_TIMEOUT_MS', { infer: true }),
      LLM_MAX_RETRIES: config.get('LLM_MAX_RETRIES', { infer: true }),
      LLM_REASONING_BUDGET: config.get('LLM_REASONING_BUDGET', { infer: true }),
    } as EnvironmentVariables;
  }

  get defaultModel(): string {
    return this.env.LLM_PROVIDER === 'offline' ? this.offline.id : (this.env.LLM_MODEL ?? '');
  }

  allowedModels(): string[] {
    const extra = (this.env.LLM_MODELS ?? '')
      .split(',')
      .map((m) => m.trim())
      .filter(Boolean);
    return [...new Set([this.defaultModel, ...extra])];
  }

  isAllowed(name: string): boolean {
    return this.allowedModels().includes(name);
  }

  get(name: string = this.defaultModel): ChatModel {
    if (this.env.LLM_PROVIDER === 'offline') return this.offline;
    let model = this.models.get(name);
    if (!model) {
      model = new AiSdkModel(name, this.languageModel(name), {
        timeoutMs: this.env.LLM_TIMEOUT_MS,
        maxRetries: this.env.LLM_MAX_RETRIES,
        providerOptions: this.providerOptions(),
      });
      this.models.set(name, model);
    }
    return model;
  }

  private providerOptions(): Record<string, Record<string, unknown>> | undefined {
    const budget = this.env.LLM_REASONING_BUDGET;
    if (this.env.LLM_PROVIDER === 'anthropic' && budget) {
      return { anthropic: { thinking: { type: 'enabled', budgetTokens: budget } } };
    }
    return undefined;
  }

  private languageModel(name: string): LanguageModel {
    const { LLM_API_KEY: apiKey, LLM_BASE_URL: baseURL } = this.env;
    switch (this.env.LLM_PROVIDER) {
      case 'openai':
        // Chat Completions: the API every OpenAI-compatible server speaks too.
        return createOpenAI({ apiKey, baseURL }).chat(name);
      case 'anthropic':
        return createAnthropic({ apiKey, baseURL })(name);
      case 'openai-compatible':
        return createOpenAICompatible({
          name: 'openai-compatible',
          baseURL: baseURL ?? '',
          apiKey,
          includeUsage: true,
        })(name);
      case 'offline':
        throw new Error('the offline model is not an AI SDK model');
    }
  }
}
