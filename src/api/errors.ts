import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { LroError, type ErrorCode } from '../lro/errors.js';

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
  too_many_ops: 429,
  internal: 500,
};

/** Fastify's own request errors, as the caller's mistakes they are. */
function fromFastify(err: FastifyError): LroError | null {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new LroError('payload_too_large', 'request body is too large');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new LroError('invalid_json', `request body is not valid JSON: ${err.message}`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new LroError('invalid_input', 'send the body as application/json');
  }
  if (err instanceof SyntaxError) return new LroError('invalid_json', `request body is not valid JSON: ${err.message}`);
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return new LroError('invalid_input', err.message);
  return null;
}

/** `{"error": {code, message, details?}}`; never a stack trace, never a 500 for the caller's mistake. */
export function errorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const known = err instanceof LroError ? err : fromFastify(err);
  if (known) return reply.code(HTTP_STATUS[known.code]).send({ error: known.toJSON() });
  request.log.error({ err }, 'unexpected error');
  return reply.code(500).send({ error: { code: 'internal', message: 'internal error; it has been logged' } });
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply) {
  return reply.code(404).send({ error: { code: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` } });
}
