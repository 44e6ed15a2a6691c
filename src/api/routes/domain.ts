import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { NotFoundError } from '../../lro/errors.js';
import { parseOrThrow } from '../../lro/schemas.js';
import { AccountBody, HostBody, Id } from '../../domain/schemas.js';
import type { HubContext } from '../app.js';
import { route } from '../auth.js';
import { doc } from '../openapi.js';

const HostParams = z.strictObject({ host_id: Id });
const RegionQuery = z
  .strictObject({
    lat: z.coerce.number().min(-90).max(90).optional(),
    lon: z.coerce.number().min(-180).max(180).optional(),
  })
  .refine((q) => (q.lat === undefined) === (q.lon === undefined), 'give both lat and lon, or neither');

/** Accounts, hosts and regions: who calls, where projects run (projects: routes/projects.ts). */
export function domainRoutes(app: FastifyInstance, ctx: HubContext) {
  const { access, hosts, projects, regions } = ctx;

  app.post(
    '/v1/accounts',
    doc(route.admin, { summary: 'An account and its first API token (shown once)', body: AccountBody, status: 201 }),
    async (request, reply) => {
      const { name } = parseOrThrow(AccountBody, request.body, 'request body');
      const { account, token } = await access.createAccount(name);
      return reply.code(201).send({ ...account, token });
    },
  );

  // Who the token is: the page's "signed in as".
  app.get('/v1/me', doc(route.account, { summary: 'Who the token is: the admin, or an account and its name' }), async (request) => {
    const { caller } = request;
    if (caller.kind === 'admin') return { kind: 'admin', account_id: null, name: 'admin' };
    const account = await access.account(caller.account_id);
    return { kind: 'account', account_id: caller.account_id, name: account?.name ?? null };
  });

  app.post(
    '/v1/hosts',
    doc(route.admin, { summary: 'A host in a region; the named account becomes its admin', body: HostBody, status: 201 }),
    async (request, reply) => {
      const body = parseOrThrow(HostBody, request.body, 'request body');
      return reply.code(201).send(await hosts.create(body));
    },
  );

  // The hosts the caller administers (the admin: all): where it may place or move projects, take hosts off.
  app.get('/v1/hosts', doc(route.account, { summary: 'The hosts the caller administers (the admin: all)' }), async (request) => ({
    hosts: await hosts.list(request.caller.account_id),
  }));

  app.get(
    '/v1/hosts/:host_id',
    doc(route.account, { summary: 'A host with its projects and their backup counts (its admin only)', params: HostParams }),
    async (request) => {
      const { host_id } = parseOrThrow(HostParams, request.params, 'path');
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
    },
  );

  app.get(
    '/v1/regions',
    doc(route.account, { summary: 'Backup regions, nearest to lat/lon first', query: RegionQuery }),
    async (request) => {
      return { regions: await regions.list(parseOrThrow(RegionQuery, request.query, 'query')) };
    },
  );
}
