import type { LookupAddress } from 'node:dns';
import { isPublicAddress, literalHostProblem, publicOnlyLookup } from './address-policy';

describe('webhook address policy', () => {
  it.each([
    '127.0.0.1',
    '10.1.2.3',
    '172.16.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '::1',
    '::',
    'fe80::1',
    'fd00::1',
    '::ffff:127.0.0.1',
    '::ffff:10.0.0.1',
    '::7f00:1',
    '::a00:1',
    'not an address',
  ])('refuses %s', (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each(['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8'])(
    'takes %s',
    (address) => {
      expect(isPublicAddress(address)).toBe(true);
    },
  );

  it('refuses localhost and non-public literal hosts in a URL, and leaves names to the lookup', () => {
    expect(literalHostProblem(new URL('http://localhost:3000/x'))).toBe('localhost');
    expect(literalHostProblem(new URL('http://api.localhost/x'))).toBe('localhost');
    expect(literalHostProblem(new URL('http://[::1]/x'))).toMatch(/non-public/);
    expect(literalHostProblem(new URL('http://10.0.0.5/x'))).toMatch(/non-public/);
    expect(literalHostProblem(new URL('https://example.com/x'))).toBeNull();
    expect(literalHostProblem(new URL('https://8.8.8.8/x'))).toBeNull();
  });

  const fakeLookup =
    (addresses: LookupAddress[]) =>
    (_host: string, _options: object, callback: (err: null, a: LookupAddress[]) => void) =>
      callback(null, addresses);

  it('fails the connection to a name that resolves to any non-public address (DNS rebinding)', async () => {
    const lookup = publicOnlyLookup(
      fakeLookup([
        { address: '93.184.216.34', family: 4 },
        { address: '10.0.0.7', family: 4 },
      ]) as never,
    );
    const err = await new Promise<NodeJS.ErrnoException | null>((resolve) =>
      lookup('rebind.example', {}, (e) => resolve(e)),
    );
    expect(err?.code).toBe('EWEBHOOKPRIVATE');
    expect(err?.message).toContain('10.0.0.7');
  });

  it('connects to a name whose addresses are all public, as dns.lookup would answer', async () => {
    const lookup = publicOnlyLookup(fakeLookup([{ address: '93.184.216.34', family: 4 }]) as never);
    const one = await new Promise<unknown[]>((resolve) =>
      lookup('example.com', {}, (e, address, family) => resolve([e, address, family])),
    );
    expect(one).toEqual([null, '93.184.216.34', 4]);
    const all = await new Promise<unknown>((resolve) =>
      lookup('example.com', { all: true }, (_e, address) => resolve(address)),
    );
    expect(all).toEqual([{ address: '93.184.216.34', family: 4 }]);
  });
});
