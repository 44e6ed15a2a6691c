/** Statements on `backup_regions`. */
import type { Db } from '../../lro/sql/operations.js';

export interface Region {
  region: string;
  name: string;
  lat: number;
  lon: number;
  distance_km: number | null;
}

/** Regions, nearest to (lat, lon) first (great-circle distance), or by name without a position. */
export async function regionListByDistance(db: Db, p: { lat?: number; lon?: number }): Promise<Region[]> {
  const { rows } = await db.query<Region>(
    `SELECT region, name, lat, lon,
            CASE WHEN $1::float8 IS NULL THEN NULL ELSE round((6371 * 2 * asin(sqrt(
              power(sin(radians(lat - $1::float8) / 2), 2) +
              cos(radians($1::float8)) * cos(radians(lat)) * power(sin(radians(lon - $2::float8) / 2), 2))))::numeric, 1)::float8
            END AS distance_km
       FROM backup_regions ORDER BY distance_km NULLS LAST, region`,
    [p.lat ?? null, p.lon ?? null],
  );
  return rows;
}

export async function regionExists(db: Db, region: string): Promise<boolean> {
  const { rows } = await db.query('SELECT 1 FROM backup_regions WHERE region = $1', [region]);
  return rows.length > 0;
}

/** The region's restic repository URL, or null for no such region. */
export async function regionRepository(db: Db, region: string): Promise<string | null> {
  const { rows } = await db.query<{ repository: string }>('SELECT repository FROM backup_regions WHERE region = $1', [region]);
  return rows[0]?.repository ?? null;
}
