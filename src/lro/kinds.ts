import { z } from 'zod';
import { UnknownKindError } from './errors.js';
import { parseOrThrow } from './schemas.js';
import type { Operation, Scope } from '../shared/operation.js';
import type { ProgressEvent } from '../shared/progress.js';

/** Where a host's pool runs its handlers: the host and the folder that holds its projects' data. */
export interface HostEnv {
  hostId: string;
  dataDir: string;
}

/** What a running handler gets. */
export interface HandlerContext<I> {
  /** The op as claimed (status running, this attempt's epoch). */
  op: Operation;
  /** The op's input, parsed by the kind's zod schema. */
  input: I;
  /** Fires on cancel, lease loss, timeout or forced shutdown; `signal.reason` says which. */
  signal: AbortSignal;
  /** Fencing token: writes with an older epoch are refused. */
  epoch: number;
  attempt: number;
  /** Records progress; never blocks; coalesced onto the heartbeat. */
  progress(event: ProgressEvent): void;
  log: (message: string, level?: 'debug' | 'info' | 'warn' | 'error') => void;
  /** The host running it (a host's pool), or null (a hub's or a plain worker's pool). */
  host: HostEnv | null;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a registry holds kinds of every input and result type
export interface KindDefinition<I = any, R = any> {
  name: string;
  input: z.ZodType<I>;
  result: z.ZodType<R>;
  /** Where the op runs: `hub` or `host:<id>` (may look it up, e.g. a project's host). @default () => 'hub' */
  routing?: (input: I, scope: Scope) => string | Promise<string>;
  /**
   * The scopes besides its own that an op changes (a copy's destination projects, the host a move
   * places a project on): whoever creates it must be allowed each, as the scope itself. @default none
   */
  alsoActsOn?: (input: I) => Scope[];
  /**
   * The dedupe key of a create that names none: one active op of this kind per scope (a second
   * create gets the one running, 200), for kinds that must never run twice at once (a move).
   * @default none
   */
  dedupeKey?: string;
  /** What a caller should know before it runs, sent with the create's answer (`warnings`). @default none */
  warnings?: string[];
  /** @default 3 */
  maxAttempts?: number;
  /** Seconds without a heartbeat before another worker may take the op. @default config lease */
  leaseS?: number;
  /** Seconds an attempt may run before it is aborted and counted as failed. @default 3600 */
  timeoutS?: number;
  /** Retry backoff: base * 2^(attempt-1), capped, with full jitter. @default {baseMs: 1000, maxMs: 300000} */
  backoff?: { baseMs: number; maxMs: number };
  run(ctx: HandlerContext<I>): Promise<R>;
}

/** Kinds by name. A worker serves some of them; the store validates input against them. */
export class KindRegistry {
  #kinds = new Map<string, KindDefinition>();

  register<I, R>(def: KindDefinition<I, R>): this {
    if (this.#kinds.has(def.name)) throw new Error(`kind ${def.name} is already registered`);
    this.#kinds.set(def.name, def as KindDefinition);
    return this;
  }

  get(name: string): KindDefinition {
    const def = this.#kinds.get(name);
    if (!def) throw new UnknownKindError(name, this.names());
    return def;
  }

  has(name: string): boolean {
    return this.#kinds.has(name);
  }

  names(): string[] {
    return [...this.#kinds.keys()].sort();
  }

  /** Parses `input` with the kind's schema, or throws InvalidInputError listing its (first) issues. */
  parseInput(name: string, input: unknown): unknown {
    return parseOrThrow(this.get(name).input, input ?? {}, `input for kind ${name}`);
  }
}
