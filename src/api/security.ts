/** Response headers (helmet) and what the request log may keep: the hub's defences that are not routes. */
import type { FastifyHelmetOptions } from '@fastify/helmet';

/**
 * `?access_token=…` (or any parameter whose name holds "token") with its value replaced, wherever it
 * sits. The query is cut as Fastify's parser cuts it: pairs split on `&` only, a value running to the
 * next `&` (`;` and `#` included: they are part of the token the hub accepts). In the path, pairs after
 * `;` (a matrix-style `/v1/ops;access_token=…`, which no route serves but the log would keep) too.
 */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  const [path, query] = q < 0 ? [url, null] : [url.slice(0, q), url.slice(q + 1)];
  const redactedPath = path.replace(/;([^=;]*)(?:=[^;]*)?/g, (pair, name: string) => (secret(name) ? `;${name}=[redacted]` : pair));
  if (query === null) return redactedPath;
  const pairs = query.split('&').map((pair) => {
    const name = pair.split('=', 1)[0]!;
    return secret(name) ? `${name}=[redacted]` : pair;
  });
  return `${redactedPath}?${pairs.join('&')}`;
}

/** A parameter name that holds "token", decoded as Fastify decodes it (access%5Ftoken); one that cannot be decoded counts too. */
function secret(name: string): boolean {
  try {
    return /token/i.test(decodeURIComponent(name.replace(/\+/g, ' ')));
  } catch {
    return true;
  }
}

/**
 * pino options for the hub's request log: Fastify's usual request fields, the URL without tokens
 * (EventSource cannot send headers, so `?access_token=` is how the page and the element authenticate),
 * and the Authorization header censored should anything ever log headers.
 */
export const logRedaction = {
  serializers: {
    req: (req: { method: string; url: string; host?: string; ip?: string; socket?: { remotePort?: number } }) => ({
      method: req.method,
      url: redactUrl(req.url),
      host: req.host,
      remoteAddress: req.ip,
      remotePort: req.socket?.remotePort,
    }),
  },
  redact: { paths: ['req.headers.authorization', 'headers.authorization', 'req.headers.cookie'], censor: '[redacted]' },
};

/**
 * Every answer: nosniff, no framing, no HSTS (the hub speaks plain HTTP on loopback; a TLS proxy in
 * front sets its own), and `Cross-Origin-Resource-Policy: cross-origin`, since the JSON API, the SSE
 * stream and `/assets/lro-progress.js` are meant to be used by pages of other origins (helmet's
 * same-origin default would stop the embeddable element from loading). The API's CSP forbids all:
 * a JSON answer opened as a document runs nothing.
 */
export const API_HEADERS: FastifyHelmetOptions = {
  contentSecurityPolicy: { useDefaults: false, directives: { 'default-src': ["'none'"], 'frame-ancestors': ["'none'"] } },
  crossOriginResourcePolicy: { policy: 'cross-origin' },
  frameguard: { action: 'deny' },
  strictTransportSecurity: false,
};

/**
 * The page's CSP: its scripts only from the hub (`/assets/app.js`; no inline script, no eval), its
 * API calls and event streams to the hub, and never inside a frame. Styles may be inline: the
 * page's `<style>` and the bars' `style="width:…"`, which run no code.
 */
export const PAGE_HEADERS = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      'default-src': ["'self'"],
      'script-src': ["'self'"],
      'style-src': ["'self'", "'unsafe-inline'"],
      'img-src': ["'self'", 'data:'],
      'connect-src': ["'self'"],
      'object-src': ["'none'"],
      'base-uri': ["'none'"],
      'form-action': ["'self'"],
      'frame-ancestors': ["'none'"],
    },
  },
};
