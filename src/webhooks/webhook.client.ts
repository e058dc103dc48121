import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { publicOnlyLookup } from './address-policy';

export interface Delivered {
  status: number;
  ms: number;
}

// One POST of a webhook: no redirects followed (a redirect is an answer, not delivered), the
// answer's body read and dropped, `timeoutMs` for the whole exchange (a receiver that trickles
// bytes is cut off at the deadline, not only a silent one). Unless private addresses
// are allowed, the host's addresses are checked as it is connected to.
export function postWebhook(
  url: string,
  body: string,
  headers: Record<string, string>,
  options: { allowPrivate: boolean; timeoutMs: number },
): Promise<Delivered> {
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = send(
      target,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body).toString(),
          'user-agent': 'netra-backend-webhooks',
          ...headers,
        },
        timeout: options.timeoutMs,
        ...(options.allowPrivate ? {} : { lookup: publicOnlyLookup() }),
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, ms: Math.round(performance.now() - started) }),
        );
        res.on('error', reject);
      },
    );
    const late = () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`));
    const deadline = setTimeout(late, options.timeoutMs);
    req.on('timeout', late);
    req.on('error', (err) => {
      clearTimeout(deadline);
      reject(err);
    });
    req.on('close', () => clearTimeout(deadline));
    req.end(body);
  });
}
