import { redactUrl } from './redact';

describe('redactUrl', () => {
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbm4ifQ.c2lnbmF0dXJl';

  it.each([
    ['/api/threads?token=abc', '/api/threads?token=[Redacted]'],
    ['/ws?ticket=t1&x=2', '/ws?ticket=[Redacted]&x=2'],
    ['/ws?x=1&TOKEN=abc', '/ws?x=1&TOKEN=[Redacted]'],
    ['/ws?%74oken=abc', '/ws?%74oken=[Redacted]'],
    ['/ws?access_token=abc&ticket=', '/ws?access_token=[Redacted]&ticket=[Redacted]'],
    [`/api/threads?q=${jwt}`, '/api/threads?q=[Redacted]'],
    [`/api/agent/${jwt}/status`, '/api/agent/[Redacted]/status'],
    ['/api/threads?limit=5#token=abc', '/api/threads?limit=5'],
    ['/api/threads', '/api/threads'],
    ['/api/threads?tokens=keep&%zz=1', '/api/threads?tokens=keep&%zz=1'],
    [`/x/a..${jwt}`, '/x/[Redacted]'],
    [`/x/pre${jwt}`, '/x/[Redacted]'],
    ['/x/eyJ.only.', '/x/[Redacted]'],
    ['/x/eyJnot-a-token', '/x/eyJnot-a-token'],
  ])('%s is logged as %s', (url, logged) => {
    expect(redactUrl(url)).toBe(logged);
  });

  it('logs at most 2048 characters of a URL, saying how much was cut', () => {
    const logged = redactUrl(`/api/${'eyJ'.repeat(6000)}`)!;
    expect(logged).toBe(`/api/${'eyJ'.repeat(6000)}`.slice(0, 2048) + '…[15957 more]');
  });

  it('leaves undefined alone', () => {
    expect(redactUrl(undefined)).toBeUndefined();
  });
});
