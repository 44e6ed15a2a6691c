import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { NotFoundError } from '../../lro/errors.js';
import { CreateOpSchema, ListOpsSchema, OpRefSchema, SeqText, parseOrThrow } from '../../lro/schemas.js';
import { doc } from '../openapi.js';
import type { Operation } from '../../shared/operation.js';
import type { Caller } from '../../domain/access.js';
import type { HubContext } from '../app.js';
import { route } from '../auth.js';
import { streamOpEvents } from '../sse.js';
import { DEFAULTS } from '../../shared/defaults.js';

const Params = z.strictObject({ op_id: OpRefSchema });
const WaitQuery = z.strictObject({
  timeout_s: z.coerce.number().min(0).max(DEFAULTS.waitMaxS).default(DEFAULTS.waitS),
});
const EventsQuery = z.strictObject({
  from_seq: SeqText.pipe(z.int().min(1)).optional(),
});

/** The ops routes of DESIGN.md's table. An op the caller may not read is a 404, even to its creator's peers. */
export function opsRoutes(app: FastifyInstance, ctx: HubContext) {
  const { lro, access } = ctx;

  /**
   * The op, if this caller may read it; otherwise exactly what a missing op gets. Every `:op_id`
   * route comes through here, so each takes a short id (8+ hex digits from either end) as well.
   */
  async function readable(caller: Caller, params: unknown): Promise<Operation> {
    const ref = parseOrThrow(Params, params, 'path').op_id;
    const op_id =
      'id' in ref
        ? ref.id
        : await lro.store.resolveShortId(ref.hex, { scopes: (await access.scopes(caller)) ?? undefined, created_by: caller.account_id });
    const op = await lro.store.get(op_id);
    if (!(await access.canRead(caller, op))) throw new NotFoundError(`op ${op_id}`);
    return op;
  }

  /**
   * 201 with the op it created; 200 with the active op that holds the dedupe key. Either way `created`
   * says which, and `warnings` what its kind says a caller should know first (a move's host-local state).
   */
  const answer = (reply: FastifyReply, { op, created }: { op: Operation; created: boolean }) => {
    const warnings = lro.kinds.has(op.kind) ? (lro.kinds.get(op.kind).warnings ?? []) : [];
    return reply.code(created ? 201 : 200).send({ ...op, created, ...(warnings.length ? { warnings } : {}) });
  };

  // The scope, the routing the kind computes and the priority are checked by the store through
  // access.createRules, for creates and retries alike.
  app.post(
    '/v1/ops',
    doc(route.account, {
      summary: 'Create an op: 201 with it, or 200 with the active op that holds its dedupe key',
      body: CreateOpSchema,
      status: 201,
    }),
    async (request, reply) => {
      const { caller } = request;
      const body = parseOrThrow(CreateOpSchema, request.body, 'request body');
      return answer(reply, await lro.store.create(body, access.createRules(caller)));
    },
  );

  app.get(
    '/v1/ops',
    doc(route.account, { summary: 'The ops the caller may read, newest first, a page at a time (next_cursor)', query: ListOpsSchema }),
    async (request) => {
      const scopes = await access.scopes(request.caller);
      return lro.store.list(request.query ?? {}, scopes ?? undefined);
    },
  );

  app.get('/v1/ops/:op_id', doc(route.account, { summary: 'One op', params: Params }), async (request) =>
    readable(request.caller, request.params),
  );

  app.get(
    '/v1/ops/:op_id/wait',
    doc(route.account, { summary: 'The op once it ends, or as it is after timeout_s', params: Params, query: WaitQuery }),
    async (request) => {
      const { timeout_s } = parseOrThrow(WaitQuery, request.query, 'query');
      const op = await readable(request.caller, request.params);
      const gone = new AbortController();
      request.raw.on('close', () => gone.abort());
      return lro.wait(op.op_id, timeout_s * 1000, gone.signal);
    },
  );

  app.post(
    '/v1/ops/:op_id/retry',
    doc(route.account, { summary: 'A new op with the same request as a failed, canceled or expired one', params: Params, status: 201 }),
    async (request, reply) => {
      const { caller } = request;
      const op = await readable(caller, request.params);
      return answer(reply, await lro.store.retry(op.op_id, access.createRules(caller, caller.account_id ?? op.created_by)));
    },
  );

  const transitions = {
    cancel: 'Cancel: a queued op ends canceled, a running one is asked to stop',
    dismiss: 'Hide an ended op from lists (it is kept until it expires)',
  } as const;
  for (const [action, summary] of Object.entries(transitions) as [keyof typeof transitions, string][]) {
    app.post(`/v1/ops/:op_id/${action}`, doc(route.account, { summary, params: Params }), async (request) => {
      const op = await readable(request.caller, request.params);
      return lro.store[action](op.op_id);
    });
  }

  app.get(
    '/v1/ops/:op_id/events',
    doc(route.account, {
      summary: "The op's progress as server-sent events, from from_seq or Last-Event-ID",
      params: Params,
      query: EventsQuery,
      sse: true,
    }),
    async (request, reply) => {
      const query = parseOrThrow(EventsQuery, request.query, 'query');
      // An EventSource resuming sends the last id it saw; checked like from_seq, so `1e19` is a 400
      // (which also stops the EventSource) rather than a 200 whose stream dies and is retried forever.
      const header = request.headers['last-event-id'];
      const lastId = header ? parseOrThrow(SeqText, header, 'Last-Event-ID header') : undefined;
      const op = await readable(request.caller, request.params);
      const fromSeq = lastId !== undefined ? lastId + 1 : (query.from_seq ?? 1);
      await streamOpEvents({ lro, op, fromSeq, request, reply });
    },
  );

  app.get('/v1/kinds', doc(route.account, { summary: 'The kinds of op this hub knows, with the JSON schema of their input' }), async () => {
    return {
      kinds: lro.kinds.names().map((name) => ({ name, input_schema: z.toJSONSchema(lro.kinds.get(name).input, { io: 'input' }) })),
    };
  });
}
