/** Response headers (helmet) and what the request log may keep: the hub's defences that are not routes. */
import type { FastifyHelmetOptions } from '@fastify/helmet';

/**
 * `?access_token=…` (or any parameter whose name holds "token") with its value replaced, wherever it
 * sits: after `?` or `&`, or after `;` (a matrix-style path such as `/v1/ops;access_token=…`, which
 * no route serves but the log would still keep).
 */
export function redactUrl(url: string): string {
  return url.replace(/([?&;])([^=&;?#]*)(?:=[^&;#]*)?/g, (pair, sep: string, name: string) =>
    // Fastify decodes names too (access%5Ftoken is access_token), so decide on the decoded one.
    /token/i.test(decodeName(name)) ? `${sep}${name}=[redacted]` : pair,
  );
}

function decodeName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
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
