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
});
