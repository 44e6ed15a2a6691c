import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseOrThrow } from '../../lro/schemas.js';
import { ScheduleName } from '../../schedules/scheduler.js';
import type { HubContext } from '../app.js';
import { route } from '../auth.js';

const NameParams = z.strictObject({ name: ScheduleName });

/** The operator's schedules (cron → op): list, set (create or replace), run once now, remove. */
export function scheduleRoutes(app: FastifyInstance, ctx: HubContext) {
  const schedules = () => ctx.lro.scheduler();
  const nameOf = (params: unknown) => parseOrThrow(NameParams, params, 'path').name;

  app.get('/v1/admin/schedules', route.admin, async () => ({ schedules: await schedules().list() }));

  app.get('/v1/admin/schedules/:name', route.admin, async (request) => schedules().get(nameOf(request.params)));

  app.put('/v1/admin/schedules/:name', route.admin, async (request) => {
    const name = nameOf(request.params);
    return schedules().set(name, request.body ?? {});
  });

  app.post('/v1/admin/schedules/:name/run', route.admin, async (request, reply) => {
    const { op, created } = await schedules().tick(nameOf(request.params));
    return reply.code(created ? 201 : 200).send(op);
  });

  app.delete('/v1/admin/schedules/:name', route.admin, async (request, reply) => {
    await schedules().remove(nameOf(request.params));
    return reply.code(204).send();
  });
}
