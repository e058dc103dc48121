import ipaddr from 'ipaddr.js';
import { lookup as dnsLookup, LookupAddress } from 'node:dns';
import { isIP } from 'node:net';

// Where a webhook may not go unless WEBHOOK_ALLOW_PRIVATE says so: anything that is not the public
// internet (loopback, private, link-local, unique-local, carrier NAT, multicast, reserved, the
// unspecified address), so a run's webhook cannot be pointed at the services beside the app.
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6') {
    const v6 = parsed as ipaddr.IPv6;
    // IPv4 inside IPv6, mapped (::ffff:a.b.c.d) or the old compatible form (::a.b.c.d): judged
    // as the IPv4 address it carries.
    const compatible = v6.parts.slice(0, 6).every((p) => p === 0);
    if (v6.isIPv4MappedAddress()) parsed = v6.toIPv4Address();
    else if (compatible) {
      const [a, b] = v6.parts.slice(6);
      parsed = ipaddr.fromByteArray([a >> 8, a & 255, b >> 8, b & 255]);
      if (a === 0 && b <= 1) return false; // :: and ::1
    }
  }
  return parsed.range() === 'unicast';
}

// A host written in the URL that is plainly not public: refused when the run starts, before any
// lookup (a name is looked up, and its addresses checked, when the webhook is sent).
export function literalHostProblem(url: URL): string | null {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return 'localhost';
  if (isIP(host) && !isPublicAddress(host)) return `a non-public address (${host})`;
  return null;
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

// dns.lookup for the HTTP request, refusing a name that resolves to any non-public address: the
// check and the connection use the same lookup, so a name cannot resolve to a public address when
// checked and a private one when connected to (DNS rebinding).
export function publicOnlyLookup(
  lookup: typeof dnsLookup = dnsLookup,
): (hostname: string, options: object, callback: LookupCallback) => void {
  return (hostname, options, callback) => {
    lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const list = addresses;
      const refused = list.find((a) => !isPublicAddress(a.address));
      if (refused) {
        const error: NodeJS.ErrnoException = new Error(
          `${hostname} resolves to a non-public address (${refused.address})`,
        );
        error.code = 'EWEBHOOKPRIVATE';
        return callback(error, []);
      }
      const all = (options as { all?: boolean }).all;
      if (all) return callback(null, list);
      callback(null, list[0].address, list[0].family);
    });
  };
}
