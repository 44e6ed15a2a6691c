/** What the domain's creates accept, the same from HTTP (src/api/routes/domain.ts) and the CLI (lro admin). */
import { z } from 'zod';
import { text } from '../lro/schemas.js';

export const Id = z.uuid({ message: 'must be a uuid' });
export const AccountBody = z.strictObject({ name: text({ min: 1, max: 200 }) });
export const HostBody = z.strictObject({
  name: text({ min: 1, max: 200 }),
  region: text({ min: 1, max: 100 }),
  admin_account_id: Id.optional(),
});
export const ProjectBody = z.strictObject({
  title: text({ min: 1, max: 200 }),
  host_id: Id.optional(),
  backup_region: text({ min: 1, max: 100 }).optional(),
});
/** A project's id in a path (`/v1/projects/:id/…`). */
export const ProjectParams = z.object({ id: Id });
export const CollaboratorBody = z.strictObject({ account_id: Id });
