/**
 * The claim on `long_running_operations`: due ops to running, fairly across accounts. Part of the
 * operations SQL module (re-exported by ./operations.ts).
 */
import type { Operation } from '../../shared/operation.js';
import type { Db } from './operations.js';
import { changeOps } from './operations-summaries.js';

const T = 'long_running_operations';
const NOW = (n: number) => `coalesce($${n}::timestamptz, now())`;

export interface ClaimParams {
  routings: string[];
  /** Kinds served; null serves every kind. */
  kinds: string[] | null;
  limit: number;
  worker_id: string;
  owner_type: 'hub' | 'host';
  /**
   * Per routing, the account (`accountKey`) of the op this claimer took last: the accounts' turns
   * go on after it. Absent: they start from the top.
   */
  after?: Record<string, string>;
  /**
   * Per routing, whether this claimer's last claim there found several accounts with queued work;
   * operationClaim keeps it up to date (pass the same object each claim). It picks the statement
   * tried first, so that either regime costs one round trip. Absent: one account is assumed.
   */
  several?: Record<string, boolean>;
  now?: Date | null;
}

/** An op's account for fair claims: `created_by`, with every admin and library create as ''. */
export const accountKey = (op: Pick<Operation, 'created_by'>): string => op.created_by ?? '';

/** The same in SQL; the expression of lro_claim_account_idx (sql/006). */
const ACCOUNT = `coalesce(created_by, '')`;

/**
 * Claims up to `limit` due ops, skipping rows other workers hold, fairly across accounts: each
 * account with queued work takes turns, and within an account ops go in priority then `run_at`
 * order. Priority does not reach across accounts: an account's priority 1000 op waits for its turn
 * like any other, so no account can buy its way ahead of the others. Returns the ops in claim order.
 */
export async function operationClaim(db: Db, p: ClaimParams): Promise<Operation[]> {
  if (p.routings.length !== 1) return plain(await claimFair(db, p));
  // One routing (every pool but a host's): while a single account has queued work, turns change
  // nothing and the plain claim is the whole of it, cheaper than the fair statement (its turn,
  // per-account scans and window sorts): a claim of one op took 0.65 vs 0.80 ms (p50, round trip and
  // commit included, alternating with the fair statement of before).
  // Both statements say whether several accounts had queued work, which picks the one tried next.
  const routing = p.routings[0]!;
  const several = p.several ?? {};
  let rows = several[routing] ? await claimFair(db, p) : await claimSolo(db, p);
  if (rows[0]?.op_id === null) rows = await claimFair(db, p); // the solo statement's "several accounts, no op"
  if (rows.length > 0) several[routing] = rows[0]!.several_accounts;
  return plain(rows);
}

/** A claimed op, with whether its routing had queued work of several accounts. */
type Claimed = Operation & { several_accounts: boolean };

function plain(rows: Claimed[]): Operation[] {
  for (const row of rows) delete (row as Partial<Claimed>).several_accounts;
  return rows;
}

/**
 * The claimed ops' new state. Both statements pick them by `op_id IN (SELECT op_id FROM c)`, not
 * `= ANY (ARRAY(SELECT …))`: the array, estimated at 10 ids, was planned as a bitmap heap scan, 0.08 ms
 * more a claim of one op; the semi-join's default estimate (200 distinct ids) keeps it a nested loop
 * of primary-key probes at any table size (checked at 1.1M rows).
 */
const CLAIM = `UPDATE ${T} o SET status = 'running', owner_id = $2, owner_type = $3, attempt = o.attempt + 1,
  lease_epoch = o.lease_epoch + 1, heartbeat_at = t.now, started_at = coalesce(o.started_at, t.now), updated_at = t.now
  FROM t WHERE o.op_id IN (SELECT op_id FROM c) RETURNING o.*`;
const DUE = `($1::text[] IS NULL OR kind = ANY($1)) AND run_at <= t.now AND (expires_at IS NULL OR expires_at > t.now)`;

/**
 * A recursive CTE's terms: per row of `from` (with a `routing` column), its routing's queued
 * priorities, one index probe each (a loose index scan of lro_claim_idx). Both statements take the
 * due ops priority by priority, highest first, each priority's in `run_at` order with `run_at <= now`
 * bounding the scan. Not one scan in (priority DESC, run_at) order: there `run_at <= now` bounds
 * nothing (priority comes first in the index), and the scan stepped over every op queued for later
 * (4.3 ms, 425 buffers with 100,000 ops due in a day and one due now, against 0.4 ms, 61 buffers).
 * Lowest first (consumers sort the few rows highest first), because each probe, a backward scan,
 * then lands on the tail of a priority's entries (its latest ops), not on the head that claims have
 * just emptied (dead entries to step over).
 */
const priorities = (name: string, from: string) =>
  `SELECT ${from}.routing, s.priority FROM ${from} CROSS JOIN LATERAL (
     SELECT priority FROM ${T} WHERE status = 'queued' AND routing = ${from}.routing ORDER BY priority, run_at DESC LIMIT 1) s
   UNION ALL
   SELECT ${name}.routing, s.priority FROM ${name} CROSS JOIN LATERAL (
     SELECT priority FROM ${T} WHERE status = 'queued' AND routing = ${name}.routing AND priority > ${name}.priority
      ORDER BY priority, run_at DESC LIMIT 1) s`;

/**
 * One routing (`$5`): when at most one account has queued work there (no account below the last one
 * of lro_claim_account_idx: two descending probes, as in the fair turn), the plain claim in priority,
 * `run_at` order; else no op and one row of NULLs with `several_accounts`. The LATERAL's rows come out
 * in the order of the priorities, and LIMIT stops the scans and the locks once `limit` ops are taken.
 * The scans are bounded by a constant, `limit` rounded up to a power of two, in the text (a prepared
 * statement per bound, six for limits up to 32), and only the outermost LIMIT takes `limit` itself:
 * with `LIMIT $n` alone the generic plan was priced for a tenth of every row the scans might return,
 * far above the custom plans, so Postgres planned every claim afresh (60 of 60 claims at 100,000
 * queued for later: 1.22 ms a claim, against 0.65 ms with the generic plan).
 */
async function claimSolo(db: Db, p: ClaimParams): Promise<Claimed[]> {
  const limit = Math.trunc(p.limit);
  if (!(limit >= 1)) return [];
  const bound = 2 ** Math.ceil(Math.log2(limit));
  const text = `WITH RECURSIVE t AS (SELECT ${NOW(4)} AS now),
     r AS (SELECT $5::text AS routing),
     l AS (SELECT (SELECT ${ACCOUNT} FROM ${T} WHERE status = 'queued' AND routing = $5 ORDER BY 1 DESC LIMIT 1) AS last),
     a AS (SELECT (SELECT ${ACCOUNT} FROM ${T} WHERE status = 'queued' AND routing = $5 AND ${ACCOUNT} < l.last
                    ORDER BY 1 DESC LIMIT 1) AS other FROM l),
     pr AS (${priorities('pr', 'r')}),
     c AS (SELECT op_id FROM (SELECT x.op_id FROM t, a, (SELECT priority FROM pr ORDER BY 1 DESC) pr CROSS JOIN LATERAL (
             SELECT op_id FROM ${T} WHERE status = 'queued' AND routing = $5 AND priority = pr.priority AND ${DUE}
              ORDER BY run_at LIMIT ${bound} FOR UPDATE SKIP LOCKED) x
            WHERE a.other IS NULL LIMIT ${bound}) c0 LIMIT $6::int)`;
  const values = [p.kinds, p.worker_id, p.owner_type, p.now ?? null, p.routings[0], limit];
  return changeOps<Claimed>(
    db,
    {
      name: `operation-claim-solo-${bound}`,
      ctes: text,
      dml: CLAIM,
      select: (summaries) => `(SELECT u.*, false AS several_accounts FROM u${summaries} ORDER BY priority DESC, run_at)
     UNION ALL
     SELECT (NULL::${T}).*, true FROM a WHERE a.other IS NOT NULL`,
    },
    values,
  );
}

async function claimFair(db: Db, p: ClaimParams): Promise<Claimed[]> {
  // Per routing (a LATERAL each: `routing = ANY(...)` would sort every queued row on each claim,
  // measured 9 ms at 20,000 queued vs 0.6 ms):
  // w  the turn: up to max(limit, 2) accounts with queued work, found one index probe each (a loose
  //    index scan of lro_claim_account_idx), descending from the account this claimer took last and
  //    wrapping round to end with it. Bounded, so 10,000 accounts cost a claim no more than `limit`
  //    do; the rotation brings every account its turn. Descending, because a probe then lands on the
  //    tail of an account's entries (its latest ops), not on the head that claims have just emptied
  //    (dead entries to step over). With one account the turn costs two probes, 5 buffer hits,
  //    against 25–30 for the scan that claims 20 ops.
  // pr the routing's queued priorities (see claimSolo), highest first, for f and g: within one
  //    priority `run_at <= now` bounds the scan, so ops queued for later are never stepped over.
  // f  only when the turn found two accounts or more: up to ceil(limit / accounts) ops of each, in
  //    its priority order, locked (about `limit` row locks, not accounts × limit).
  // g  the plain priority-ordered claim for whatever is left: all of the claim with one account,
  //    else what the turn's accounts could not fill (not due yet, other kinds, held by other
  //    workers), so no slot idles while any op is due.
  // c  interleaved: every account's first op, in turn order, then every account's second, …; with
  //    several routings their accounts alternate too (before fairness: priority across routings).
  const limit = Math.max(0, Math.trunc(p.limit));
  const routings = p.routings.map((_, i) => `($${5 + 2 * i}::text, $${6 + 2 * i}::text)`).join(', ');
  // Prepared, so that it is planned once per connection: planning it costs 1.8 ms, more than running
  // it (measured at 20,000 queued; the statement before fairness planned in 0.56 ms). The routings are
  // a VALUES row each, not unnest($n): unnest of a parameter is estimated at 10 rows, which priced
  // the generic plan above the custom ones, and Postgres kept planning every claim. `limit` is in
  // the text for the same reason (see claimSolo).
  const text = `WITH RECURSIVE t AS (SELECT ${NOW(4)} AS now),
     r (routing, after) AS (VALUES ${routings}),
     w AS (
       SELECT r.routing, r.after, s.account, s.wrapped, 1 AS pos FROM r CROSS JOIN LATERAL (
         (SELECT ${ACCOUNT} AS account, false AS wrapped FROM ${T}
           WHERE status = 'queued' AND routing = r.routing AND ${ACCOUNT} < r.after ORDER BY 1 DESC LIMIT 1)
         UNION ALL
         (SELECT ${ACCOUNT}, true FROM ${T} WHERE status = 'queued' AND routing = r.routing ORDER BY 1 DESC LIMIT 1)
         LIMIT 1) s
       UNION ALL
       SELECT w.routing, w.after, s.account, s.wrapped, w.pos + 1 FROM w CROSS JOIN LATERAL (
         (SELECT ${ACCOUNT} AS account, w.wrapped FROM ${T}
           WHERE status = 'queued' AND routing = w.routing AND ${ACCOUNT} < w.account
             AND ${ACCOUNT} >= CASE WHEN w.wrapped THEN coalesce(w.after, '') ELSE '' END ORDER BY 1 DESC LIMIT 1)
         UNION ALL
         (SELECT ${ACCOUNT}, true FROM ${T}
           WHERE status = 'queued' AND routing = w.routing AND NOT w.wrapped AND ${ACCOUNT} >= w.after ORDER BY 1 DESC LIMIT 1)
         LIMIT 1) s
       WHERE w.pos < greatest(${limit}, 2)),
     n AS (SELECT routing, count(*)::int AS accounts FROM w GROUP BY routing),
     pr AS (${priorities('pr', 'r')}),
     f AS (SELECT w.routing, w.pos, x.* FROM t, w JOIN n USING (routing) CROSS JOIN LATERAL (
             SELECT y.* FROM (SELECT priority FROM pr WHERE pr.routing = w.routing ORDER BY 1 DESC) pr CROSS JOIN LATERAL (
               SELECT op_id, ${ACCOUNT} AS account, priority, run_at FROM ${T}
                WHERE status = 'queued' AND routing = w.routing AND ${ACCOUNT} = w.account AND priority = pr.priority AND ${DUE}
                ORDER BY run_at LIMIT ceil(${limit}::numeric / n.accounts)::int FOR UPDATE SKIP LOCKED) y
              LIMIT ceil(${limit}::numeric / n.accounts)::int) x
            WHERE n.accounts > 1),
     g AS (SELECT r.routing, NULL::int AS pos, x.* FROM t, r CROSS JOIN LATERAL (
             SELECT y.* FROM (SELECT priority FROM pr WHERE pr.routing = r.routing ORDER BY 1 DESC) pr CROSS JOIN LATERAL (
               SELECT op_id, ${ACCOUNT} AS account, priority, run_at FROM ${T}
                WHERE status = 'queued' AND routing = r.routing AND priority = pr.priority AND ${DUE}
                  AND op_id <> ALL (ARRAY(SELECT f.op_id FROM f WHERE f.routing = r.routing))
                ORDER BY run_at LIMIT ${limit} FOR UPDATE SKIP LOCKED) y
              LIMIT greatest(0, ${limit} - (SELECT count(*) FROM f WHERE f.routing = r.routing))) x),
     c AS (SELECT op_id, row_number() OVER (ORDER BY turn, pos, priority DESC, run_at) AS ord FROM (
             SELECT *, row_number() OVER (PARTITION BY routing, account ORDER BY priority DESC, run_at) AS turn
               FROM (SELECT * FROM f UNION ALL SELECT * FROM g) a) b
            ORDER BY turn, pos, priority DESC, run_at LIMIT ${limit})`;
  const values = [p.kinds, p.worker_id, p.owner_type, p.now ?? null, ...p.routings.flatMap((r) => [r, p.after?.[r] ?? null])];
  return changeOps<Claimed>(
    db,
    {
      name: `operation-claim-${p.routings.length}-${limit}`,
      ctes: text,
      dml: CLAIM,
      columns: 'u.*, coalesce(n.accounts, 0) > 1 AS several_accounts',
      join: ' JOIN c USING (op_id) LEFT JOIN n USING (routing)',
      orderBy: 'c.ord',
    },
    values,
  );
}
