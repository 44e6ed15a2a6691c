import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { NotFoundError } from '../../lro/errors.js';
import { parseOrThrow } from '../../lro/schemas.js';
import { AccountBody, HostBody, Id } from '../../domain/schemas.js';
import type { HubContext } from '../app.js';
import { route } from '../auth.js';

const RegionQuery = z
  .strictObject({
    lat: z.coerce.number().min(-90).max(90).optional(),
    lon: z.coerce.number().min(-180).max(180).optional(),
  })
  .refine((q) => (q.lat === undefined) === (q.lon === undefined), 'give both lat and lon, or neither');

/** Accounts, hosts and regions: who calls, where projects run (projects: routes/projects.ts). */
export function domainRoutes(app: FastifyInstance, ctx: HubContext) {
  const { access, hosts, projects, regions } = ctx;

  app.post('/v1/accounts', route.admin, async (request, reply) => {
    const { name } = parseOrThrow(AccountBody, request.body, 'request body');
    const { account, token } = await access.createAccount(name);
    return reply.code(201).send({ ...account, token });
  });

  // Who the token is: the page's "signed in as".
  app.get('/v1/me', route.account, async (request) => {
    const { caller } = request;
    if (caller.kind === 'admin') return { kind: 'admin', account_id: null, name: 'admin' };
    const account = await access.account(caller.account_id);
    return { kind: 'account', account_id: caller.account_id, name: account?.name ?? null };
  });

  app.post('/v1/hosts', route.admin, async (request, reply) => {
    const body = parseOrThrow(HostBody, request.body, 'request body');
    return reply.code(201).send(await hosts.create(body));
  });

  // The hosts the caller administers (the admin: all): where it may place or move projects, take hosts off.
  app.get('/v1/hosts', route.account, async (request) => ({ hosts: await hosts.list(request.caller.account_id) }));

  app.get('/v1/hosts/:host_id', route.account, async (request) => {
    const { host_id } = parseOrThrow(z.strictObject({ host_id: Id }), request.params, 'path');
    const host = await hosts.find(host_id);
    if (!host || !(await access.isHostAdmin(request.caller, host_id))) throw new NotFoundError(`host ${host_id}`);
    const placed = await projects.listByHost(host_id);
    const backup_counts = { none: 0, fresh: 0, stale: 0 };
    for (const p of placed) backup_counts[p.backup_state]++;
    return {
      ...host,
      backup_counts,
      projects: placed.map((p) => ({
        project_id: p.project_id,
        title: p.title,
        last_edited: p.last_edited,
        last_backup: p.last_backup,
        backup_state: p.backup_state,
        backup_fresh: p.backup_fresh,
      })),
    };
  });

  app.get('/v1/regions', route.account, async (request) => {
    return { regions: await regions.list(parseOrThrow(RegionQuery, request.query, 'query')) };
  });
}
