import { InvalidInputError, translatingPg } from '../lro/errors.js';
import type { Db } from '../lro/sql/operations.js';
import { regionExists, regionListByDistance, type Region } from './sql/regions.js';

/**
 * A region named by a caller (a host's, a project's backup region) must be a row of `backup_regions`:
 * a typo would otherwise surface much later, when a move or a restore looks for hosts of that region.
 */
export async function requireRegion(db: Db, region: string, field: string): Promise<void> {
  if (!(await translatingPg(() => regionExists(db, region)))) {
    throw new InvalidInputError(`${field} ${JSON.stringify(region)} is not a backup region; GET /v1/regions lists them`, { field, region });
  }
}

/** The backup regions, for routes and the CLI. */
export class RegionStore {
  readonly #db: Db;

  constructor(opts: { db: Db }) {
    this.#db = opts.db;
  }

  /** Nearest to (lat, lon) first, or by name without a position. */
  list(position: { lat?: number; lon?: number } = {}): Promise<Region[]> {
    return translatingPg(() => regionListByDistance(this.#db, position));
  }

  /** InvalidInputError naming `field` unless `region` is a backup region. */
  require(region: string, field: string): Promise<void> {
    return requireRegion(this.#db, region, field);
  }
}
