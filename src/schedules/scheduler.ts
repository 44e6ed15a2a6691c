/**
 * Schedules: cron expressions that create an op on each tick, kept by pg-boss's scheduler in this
 * same database (its `pgboss` schema). pg-boss makes a tick happen once across every hub: one hub
 * checks the crons per interval (`cron_on`), and a tick is sent at most once a minute per schedule
 * (a singleton key). Each hub works the schedules' queues; a tick becomes an op whose dedupe key
 * names the schedule, so a late or doubled tick joins the op already active instead of making a
 * second one.
 */
import PgBoss from 'pg-boss';
import { z } from 'zod';
import { InvalidInputError, NotFoundError } from '../lro/errors.js';
import type { KindRegistry } from '../lro/kinds.js';
import type { Logger } from '../lro/log.js';
import { Ticker } from '../lro/service.js';
import { ScopeSchema, parseOrThrow, text } from '../lro/schemas.js';
import type { Db } from '../lro/sql/operations.js';
import type { Operation } from '../shared/operation.js';

export const ScheduleName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,47}$/, 'must be 1 to 48 lowercase letters, digits or hyphens, starting with a letter or digit');

export const ScheduleBody = z.strictObject({
  cron: text({ min: 1, max: 100 }),
  timezone: text({ min: 1, max: 64 }).refine(isTimeZone, 'must be an IANA time zone, e.g. UTC or Europe/Berlin').default('UTC'),
  kind: text({ min: 1, max: 63 }),
  scope: ScopeSchema.default({ type: 'hub', id: 'hub' }),
  input: z.unknown().optional(),
});
export type ScheduleBody = z.input<typeof ScheduleBody>;

/** What a tick creates, as stored in the schedule's pg-boss row. */
const TickData = ScheduleBody.pick({ kind: true, scope: true, input: true });

export interface Schedule {
  name: string;
  cron: string;
  timezone: string;
  kind: string;
  scope: { type: string; id: string };
  input: unknown;
  updated_at: Date | null;
}

export interface SchedulerOptions {
  db: Db;
  kinds: KindRegistry;
  /** Creates the op of a tick (the store's `create`). */
  createOp: (request: unknown) => Promise<{ op: Operation; created: boolean }>;
  log: Logger;
  /** How often a hub checks the crons (pg-boss, 1–45). @default 30 */
  cronCheckS?: number;
  /** How often a hub looks for ticks to run, and for schedules added elsewhere. @default 2 */
  pollS?: number;
}

const QUEUE_PREFIX = 'lro-schedule-';
const queueOf = (name: string) => `${QUEUE_PREFIX}${name}`;

/** The dedupe key of a schedule's ops: one active op per schedule. */
export const scheduleDedupeKey = (name: string) => `schedule:${name}`;

/** Schedules on pg-boss: `list`, `set`, `remove` anywhere; `start` on a hub to run their ticks. */
export class Scheduler {
  readonly #opts: SchedulerOptions;
  #boss: Promise<PgBoss> | null = null;
  #running = false;
  #working = new Set<string>();
  #refresh: Ticker | null = null;

  constructor(opts: SchedulerOptions) {
    this.#opts = opts;
  }

  /** Runs the crons (one tick across hubs) and the ticks' queues on this process until `stop`. */
  async start(): Promise<void> {
    if (this.#running) return;
    if (this.#boss) await this.#stopBoss(); // a manage-only boss: replaced by one that keeps time
    this.#running = true;
    await this.#ready();
    await this.#syncWorkers();
    this.#refresh = new Ticker(() => this.#syncWorkers(), {
      intervalMs: (this.#opts.pollS ?? 2) * 5000,
      onError: (err) => this.#opts.log.warn({ err }, 'schedules: looking for new schedules failed (tried again)'),
    });
    this.#refresh.start();
  }

  async stop(): Promise<void> {
    await this.#refresh?.stop();
    this.#refresh = null;
    this.#running = false;
    this.#working.clear();
    await this.#stopBoss();
  }

  async list(): Promise<Schedule[]> {
    const boss = await this.#ready();
    const rows = (await boss.getSchedules()) as unknown as PgBossSchedule[];
    return rows
      .filter((r) => r.name.startsWith(QUEUE_PREFIX))
      .map(toSchedule)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async get(name: string): Promise<Schedule> {
    const found = (await this.list()).find((s) => s.name === name);
    if (!found) throw new NotFoundError(`schedule ${name}`);
    return found;
  }

  /**
   * Creates or replaces a schedule. The cron and time zone, the kind and its input are checked
   * now: a schedule that could never make its op is refused, not stored.
   */
  async set(name: string, body: unknown): Promise<Schedule> {
    const n = parseOrThrow(ScheduleName, name, 'schedule name');
    const b = parseOrThrow(ScheduleBody, body, 'schedule');
    this.#opts.kinds.parseInput(b.kind, b.input); // an unknown kind, or input it refuses: 400
    const boss = await this.#ready();
    const queue = queueOf(n);
    if (!(await boss.getQueue(queue))) await boss.createQueue(queue).catch(ignoreDuplicate);
    try {
      await boss.schedule(queue, b.cron, { kind: b.kind, scope: b.scope, input: b.input ?? {} }, { tz: b.timezone });
    } catch (err) {
      // cron-parser's words for a bad expression or zone (pg-boss checks both before it stores).
      throw new InvalidInputError(`cron: ${b.cron} in ${b.timezone} is not a schedule (${(err as Error).message})`);
    }
    if (this.#running) await this.#syncWorkers();
    return this.get(n);
  }

  /** Removes a schedule; ticks already sent still run. NotFoundError when there is none. */
  async remove(name: string): Promise<void> {
    const n = parseOrThrow(ScheduleName, name, 'schedule name');
    await this.get(n);
    await (await this.#ready()).unschedule(queueOf(n));
  }

  /** One tick of a schedule, now (what a cron tick does; tests and `lro admin schedule-run`). */
  async tick(name: string): Promise<{ op: Operation; created: boolean }> {
    const s = await this.get(parseOrThrow(ScheduleName, name, 'schedule name'));
    return this.#create(s.name, { kind: s.kind, scope: s.scope, input: s.input });
  }

  #create(name: string, data: unknown): Promise<{ op: Operation; created: boolean }> {
    const tick = parseOrThrow(TickData, data, `schedule ${name}`);
    return this.#opts.createOp({ ...tick, dedupe_key: scheduleDedupeKey(name) });
  }

  /** Works the queue of every schedule (added here or by another process), and no removed one. */
  async #syncWorkers(): Promise<void> {
    if (!this.#running) return;
    const boss = await this.#ready();
    const names = new Set((await this.list()).map((s) => s.name));
    for (const name of names) {
      if (this.#working.has(name)) continue;
      this.#working.add(name);
      await boss.work(queueOf(name), { pollingIntervalSeconds: this.#opts.pollS ?? 2, batchSize: 1 }, async (jobs) => {
        for (const job of jobs) await this.#onTick(name, job.data);
      });
    }
    for (const name of this.#working) {
      if (names.has(name)) continue;
      this.#working.delete(name);
      await boss.offWork(queueOf(name));
    }
  }

  async #onTick(name: string, data: unknown): Promise<void> {
    try {
      const { op, created } = await this.#create(name, data);
      this.#opts.log.info(
        { schedule: name, op_id: op.op_id, created },
        created ? 'schedule: tick created an op' : 'schedule: tick joined the active op',
      );
    } catch (err) {
      // A tick that cannot make its op (a kind since removed): said once, not retried every poll.
      this.#opts.log.error({ err, schedule: name }, 'schedule: the tick could not create its op');
    }
  }

  #ready(): Promise<PgBoss> {
    this.#boss ??= this.#openBoss().catch((err: unknown) => {
      this.#boss = null; // the next call tries again (a database that was down)
      throw err;
    });
    return this.#boss;
  }

  async #openBoss(): Promise<PgBoss> {
    const run = this.#running;
    const db = this.#opts.db;
    const boss = new PgBoss({
      db: { executeSql: (sql: string, values?: unknown[]) => db.query(sql, values) },
      schema: 'pgboss',
      schedule: run,
      supervise: run,
      ...(run
        ? { cronMonitorIntervalSeconds: this.#opts.cronCheckS ?? 30, cronWorkerIntervalSeconds: Math.max(1, this.#opts.pollS ?? 2) }
        : {}),
    });
    boss.on('error', (err) => this.#opts.log.warn({ err }, 'schedules: pg-boss reported an error'));
    await boss.start();
    return boss;
  }

  async #stopBoss(): Promise<void> {
    const boss = this.#boss;
    this.#boss = null;
    const started = await boss?.catch(() => null); // one that never started has nothing to stop
    await started?.stop({ graceful: true, close: false, wait: true, timeout: 5000 });
  }
}

interface PgBossSchedule {
  name: string;
  cron: string;
  timezone: string | null;
  data: { kind: string; scope: { type: string; id: string }; input?: unknown } | null;
  updated_on?: Date;
}

function toSchedule(r: PgBossSchedule): Schedule {
  return {
    name: r.name.slice(QUEUE_PREFIX.length),
    cron: r.cron,
    timezone: r.timezone ?? 'UTC',
    kind: r.data?.kind ?? '',
    scope: r.data?.scope ?? { type: 'hub', id: 'hub' },
    input: r.data?.input ?? {},
    updated_at: r.updated_on ?? null,
  };
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function ignoreDuplicate(err: unknown): void {
  if ((err as { code?: string }).code !== '23505') throw err;
}
