/**
 * The one clock of an `Lro` and every service it builds. In production it is the system clock and
 * every SQL statement uses the database's `now()` (`sqlNow()` is undefined), so hosts with skewed
 * clocks still agree on leases. A test passes a `ManualClock`: in-process decisions (stall, ETA,
 * which leases are due) and the statements (`coalesce($now, now())`) both see the time it was moved to.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** The time statements run at: undefined lets the database's clock decide. */
  sqlNow(): Date | undefined;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sqlNow: () => undefined,
};

/** A clock that moves only when told to (tests). */
export class ManualClock implements Clock {
  #t: number;

  constructor(start: Date | number = Date.now()) {
    this.#t = typeof start === 'number' ? start : start.getTime();
  }

  now(): number {
    return this.#t;
  }

  sqlNow(): Date {
    return new Date(this.#t);
  }

  /** Moves the clock forward by `ms`. */
  advance(ms: number): this {
    this.#t += ms;
    return this;
  }

  set(at: Date | number): this {
    this.#t = typeof at === 'number' ? at : at.getTime();
    return this;
  }
}
