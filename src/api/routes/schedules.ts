import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseOrThrow } from '../../lro/schemas.js';
import { ScheduleBody, ScheduleName } from '../../schedules/scheduler.js';
import { doc } from '../openapi.js';
import type { HubContext } from '../app.js';
import { route } from '../auth.js';

const NameParams = z.strictObject({ name: ScheduleName });

/** The operator's schedules (cron → op): list, set (create or replace), run once now, remove. */
export function scheduleRoutes(app: FastifyInstance, ctx: HubContext) {
  const schedules = () => ctx.lro.scheduler();
  const nameOf = (params: unknown) => parseOrThrow(NameParams, params, 'path').name;

  app.get('/v1/admin/schedules', doc(route.admin, { summary: 'The schedules (cron → op)' }), async () => ({
    schedules: await schedules().list(),
  }));

  app.get('/v1/admin/schedules/:name', doc(route.admin, { summary: 'One schedule', params: NameParams }), async (request) =>
    schedules().get(nameOf(request.params)),
  );

  app.put(
    '/v1/admin/schedules/:name',
    doc(route.admin, { summary: 'Create or replace a schedule', params: NameParams, body: ScheduleBody }),
    async (request) => {
      const name = nameOf(request.params);
      return schedules().set(name, request.body ?? {});
    },
  );

  app.post(
    '/v1/admin/schedules/:name/run',
    doc(route.admin, { summary: "Run a schedule's op now (201; 200 with the active one)", params: NameParams, status: 201 }),
    async (request, reply) => {
      const { op, created } = await schedules().tick(nameOf(request.params));
      return reply.code(created ? 201 : 200).send(op);
    },
  );

  app.delete(
    '/v1/admin/schedules/:name',
    doc(route.admin, { summary: 'Remove a schedule', params: NameParams, status: 204 }),
    async (request, reply) => {
      await schedules().remove(nameOf(request.params));
      return reply.code(204).send();
    },
  );
}
