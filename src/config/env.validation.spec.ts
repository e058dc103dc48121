import 'reflect-metadata';
import { validateEnv } from './env.validation';

function env(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    DATABASE_URL: 'postgres://netra:secret@localhost:5432/netra',
    JWT_SECRET: 'a'.repeat(16),
    ...overrides,
  };
}

function productionSecret(length: number): string {
  return 's'.repeat(length);
}

describe('validateEnv', () => {
  it('applies the defaults', () => {
    expect(validateEnv(env())).toMatchObject({
      NODE_ENV: 'development',
      PORT: 3000,
      LOG_LEVEL: 'info',
      SSE_HEARTBEAT_MS: 15_000,
    });
  });

  it('converts numeric strings', () => {
    expect(validateEnv(env({ PORT: '8080', SSE_HEARTBEAT_MS: '500' }))).toMatchObject({
      PORT: 8080,
      SSE_HEARTBEAT_MS: 500,
    });
  });

  it.each(['abc', '70000', '-1', '80.5'])('rejects PORT=%s, naming PORT', (port) => {
    expect(() => validateEnv(env({ PORT: port }))).toThrow(/Invalid configuration:[\s\S]*PORT/);
  });

  it('rejects an unknown NODE_ENV', () => {
    expect(() => validateEnv(env({ NODE_ENV: 'staging' }))).toThrow(/NODE_ENV/);
  });

  it('rejects a JWT_SECRET shorter than 16 characters', () => {
    expect(() => validateEnv(env({ JWT_SECRET: 'short' }))).toThrow(
      'JWT_SECRET must be at least 16 characters',
    );
  });

  it('requires a JWT_SECRET of at least 32 characters in production', () => {
    expect(() =>
      validateEnv(env({ NODE_ENV: 'production', JWT_SECRET: productionSecret(31) })),
    ).toThrow('JWT_SECRET must be at least 32 characters in production');
  });

  it('accepts a 32-character JWT_SECRET in production', () => {
    const secret = productionSecret(32);

    expect(validateEnv(env({ NODE_ENV: 'production', JWT_SECRET: secret }))).toMatchObject({
      NODE_ENV: 'production',
      JWT_SECRET: secret,
    });
  });

  it.each(['postgres://db/netra', 'postgresql://db/netra'])('accepts DATABASE_URL %s', (url) => {
    expect(validateEnv(env({ DATABASE_URL: url })).DATABASE_URL).toBe(url);
  });

  it.each([
    ['another scheme', 'mysql://db/netra'],
    ['a bare host', 'localhost:5432'],
    ['nothing', undefined],
  ])('rejects %s as DATABASE_URL', (_case, url) => {
    expect(() => validateEnv(env({ DATABASE_URL: url }))).toThrow(
      'DATABASE_URL must be a postgres:// URL',
    );
  });

  describe('language model', () => {
    it('uses the offline model, which needs nothing else, by default', () => {
      expect(validateEnv(env())).toMatchObject({
        LLM_PROVIDER: 'offline',
        LLM_TIMEOUT_MS: 120_000,
        LLM_MAX_RETRIES: 2,
      });
    });

    it('accepts the offline model with no model, key or URL', () => {
      expect(validateEnv(env({ LLM_PROVIDER: 'offline' })).LLM_PROVIDER).toBe('offline');
    });

    it.each([
      ['openai', { LLM_MODEL: 'gpt-4o-mini', LLM_API_KEY: 'sk-test' }],
      ['anthropic', { LLM_MODEL: 'claude-sonnet-4-5', LLM_API_KEY: 'sk-ant-test' }],
      ['openai-compatible', { LLM_MODEL: 'llama3', LLM_BASE_URL: 'http://localhost:11434/v1' }],
    ])('accepts %s with what it needs', (provider, settings) => {
      expect(validateEnv(env({ LLM_PROVIDER: provider, ...settings }))).toMatchObject({
        LLM_PROVIDER: provider,
        ...settings,
      });
    });

    it.each(['openai', 'anthropic'])('refuses %s without LLM_API_KEY, naming it', (provider) => {
      expect(() => validateEnv(env({ LLM_PROVIDER: provider, LLM_MODEL: 'm' }))).toThrow(
        `LLM_API_KEY is required when LLM_PROVIDER is ${provider}`,
      );
    });

    it('refuses openai-compatible without LLM_BASE_URL', () => {
      expect(() =>
        validateEnv(env({ LLM_PROVIDER: 'openai-compatible', LLM_MODEL: 'llama3' })),
      ).toThrow('LLM_BASE_URL is required when LLM_PROVIDER is openai-compatible');
    });

    it('does not require an API key for openai-compatible', () => {
      const settings = { LLM_PROVIDER: 'openai-compatible', LLM_MODEL: 'llama3' };

      expect(() =>
        validateEnv(env({ ...settings, LLM_BASE_URL: 'http://localhost:11434/v1' })),
      ).not.toThrow();
    });

    it.each([
      ['openai', { LLM_API_KEY: 'sk-test' }],
      ['anthropic', { LLM_API_KEY: 'sk-ant-test' }],
      ['openai-compatible', { LLM_BASE_URL: 'http://localhost:11434/v1' }],
    ])('refuses %s without LLM_MODEL', (provider, settings) => {
      expect(() => validateEnv(env({ LLM_PROVIDER: provider, ...settings }))).toThrow(
        `LLM_MODEL is required when LLM_PROVIDER is ${provider}`,
      );
    });

    it('names every missing setting at once', () => {
      expect(() => validateEnv(env({ LLM_PROVIDER: 'openai' }))).toThrow(
        /LLM_MODEL is required[\s\S]*LLM_API_KEY is required/,
      );
    });

    it('rejects an unknown provider', () => {
      expect(() => validateEnv(env({ LLM_PROVIDER: 'cohere' }))).toThrow(/LLM_PROVIDER/);
    });

    it('rejects an LLM_BASE_URL that is not http(s)', () => {
      expect(() =>
        validateEnv(
          env({ LLM_PROVIDER: 'openai-compatible', LLM_MODEL: 'm', LLM_BASE_URL: 'localhost:1' }),
        ),
      ).toThrow('LLM_BASE_URL must be an http(s) URL');
    });

    it('converts and bounds the timeout and retries', () => {
      expect(validateEnv(env({ LLM_TIMEOUT_MS: '5000', LLM_MAX_RETRIES: '0' }))).toMatchObject({
        LLM_TIMEOUT_MS: 5000,
        LLM_MAX_RETRIES: 0,
      });
      expect(() => validateEnv(env({ LLM_TIMEOUT_MS: '99' }))).toThrow(/LLM_TIMEOUT_MS/);
      expect(() => validateEnv(env({ LLM_MAX_RETRIES: '11' }))).toThrow(/LLM_MAX_RETRIES/);
    });
  });
});
