import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { InvalidInputError, LroError, NotFoundError, UnavailableError, translatePgError, type ErrorCode } from '../lro/errors.js';
import { bounded } from '../lro/schemas.js';
import { redactUrl } from './security.js';

/** The one place error codes become HTTP statuses. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  invalid_input: 400,
  invalid_json: 400,
  unknown_kind: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  lease_lost: 409,
  payload_too_large: 413,
  uri_too_long: 414,
  unsupported_media_type: 415,
  headers_too_large: 431,
  request_timeout: 408,
  too_many_ops: 429,
  internal: 500,
  unavailable: 503,
  not_ready: 503,
};

/** Fastify's statuses for the caller's mistakes, kept as they are but in our shape. */
const BY_STATUS: Partial<Record<number, ErrorCode>> = {
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  431: 'headers_too_large',
};

/** Fastify's own request errors (body parsing, router limits), as the caller's mistakes they are. */
function fromFastify(err: FastifyError): LroError | null {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new LroError('payload_too_large', 'request body is too large');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new LroError('invalid_json', `request body is not valid JSON: ${err.message}`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new LroError('unsupported_media_type', 'send the body as application/json');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new LroError('uri_too_long', 'a path parameter is too long (at most 100 characters)');
    case 'FST_ERR_BAD_URL':
      return new InvalidInputError('the path is not a valid URL (bad percent-encoding?)');
  }
  if (err instanceof SyntaxError) return new LroError('invalid_json', `request body is not valid JSON: ${err.message}`);
  const status = err.statusCode ?? 500;
  if (status >= 400 && status < 500) return new LroError(BY_STATUS[status] ?? 'invalid_input', err.message);
  return null;
}

/** A caller's mistake found by the database (a NUL, a value out of range) that no schema caught first. */
function fromPg(err: unknown): LroError | null {
  const translated = translatePgError(err);
  return translated instanceof LroError ? translated : null;
}

/** SQLSTATE classes 08 (connection) and 57P (shutdown), and the pg driver's own words for a lost server. */
const DB_GONE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', '57P01', '57P02', '57P03']);
const DB_GONE_MESSAGE = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/;

/** The database is down or restarting: not the caller's mistake, not a bug; worth a retry (503). */
function fromDbOutage(err: unknown): LroError | null {
  const code = String((err as { code?: unknown })?.code ?? '');
  if (!DB_GONE_CODES.has(code) && !code.startsWith('08') && !DB_GONE_MESSAGE.test((err as Error)?.message ?? '')) return null;
  return new UnavailableError('the database is unavailable right now; try again shortly');
}

/** The body of every error answer, bounded (a message quoting a huge input stays a few KB). */
const body = (e: LroError) => ({ error: { ...e.toJSON(), message: bounded(e.message) } });

/**
 * `{"error": {code, message, details?}}`; never a stack trace, never a 500 for the caller's mistake
 * (those are not logged at error level either: Fastify's response log line has the status).
 */
export function errorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const known = err instanceof LroError ? err : (fromFastify(err) ?? fromPg(err));
  // Also on answers no route's hooks saw (router limits): no browser sniffs an error into a script.
  void reply.header('x-content-type-options', 'nosniff');
  if (known) return reply.code(HTTP_STATUS[known.code]).send(body(known));
  const outage = fromDbOutage(err);
  if (outage) {
    request.log.warn({ err: { code: (err as { code?: string }).code, message: err.message } }, 'database unavailable');
    return reply.code(503).header('retry-after', '1').send(body(outage));
  }
  request.log.error({ err }, 'unexpected error');
  return reply.code(500).send({ error: { code: 'internal', message: 'internal error; it has been logged' } });
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply) {
  // The path as the log keeps it: a token someone put in it (`;access_token=…`) is not echoed back.
  const error = new NotFoundError(`route ${request.method} ${redactUrl(request.url).split('?')[0]}`);
  return reply.code(404).send(body(error));
}

/**
 * Errors Node's HTTP parser meets before Fastify sees a request (headers over 16 KiB, a malformed
 * request line, a request that took too long to arrive): the same shape, written on the socket.
 */
export function clientErrorHandler(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket) {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const error =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? new LroError('headers_too_large', 'request headers are too large (at most 16 KiB in all)')
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new LroError('request_timeout', 'the request took too long to arrive')
        : new InvalidInputError('malformed HTTP request');
  const status = HTTP_STATUS[error.code];
  // Not `err` itself: its rawPacket holds the request's bytes, tokens in the URL and headers included.
  this.log.debug({ code: err.code, reason: (err as { reason?: string }).reason }, `client error ${status}`);
  if (socket.writable) {
    const text = JSON.stringify(body(error));
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(text)}\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${text}`,
    );
  }
  socket.destroy(err);
}
