import { InvalidInputError } from '../lro/errors.js';
import type { Db } from '../lro/sql/operations.js';
import { regionExists } from './sql/regions.js';

/**
 * A region named by a caller (a host's, a project's backup region) must be a row of `backup_regions`:
 * a typo would otherwise surface much later, when a move or a restore looks for hosts of that region.
 */
export async function requireRegion(db: Db, region: string, field: string): Promise<void> {
  if (!(await regionExists(db, region))) {
    throw new InvalidInputError(`${field} ${JSON.stringify(region)} is not a backup region; GET /v1/regions lists them`, { field, region });
  }
}
