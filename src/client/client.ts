/**
 * A typed client for the hub's HTTP API, for Node (18+) and the browser: only `fetch`, no Node
 * modules. Errors come back as `LroApiError` with the API's stable `code`.
 */
import { backoffMs, retry, sleep } from '../shared/backoff.js';
import { RETRY } from '../shared/defaults.js';
import { isTerminal } from '../shared/status.js';
import type { WatchEvent } from '../shared/events.js';
import type { Operation } from '../shared/operation.js';
import type { TreeEntry } from '../shared/backups.js';

export type { TreeEntry } from '../shared/backups.js';

/** One folder of a snapshot: its entries, folders first. */
export interface SnapshotFolder {
  snapshot_id: string;
  time: string;
  path: string;
  entries: TreeEntry[];
}

export interface CreateOpBody {
  kind: string;
  scope: { type: 'project' | 'account' | 'host' | 'hub'; id?: string };
  input?: unknown;
  dedupe_key?: string;
  ttl_s?: number;
  max_attempts?: number;
  priority?: number;
}

export interface ListQuery {
  scope_type?: string;
  scope_id?: string;
  kind?: string;
  status?: string | string[];
  /** The children of a parent op. */
  parent_id?: string;
  limit?: number;
  cursor?: string;
  /** Dismissed ops too (they are left out by default). */
  include_dismissed?: boolean;
}

/** `POST /v1/ops` answers the op itself with `created` and `warnings` added; `create()` splits them off. */
export interface CreateAnswer {
  op: Operation;
  /** false: an active op already held the dedupe key, and this is that op. */
  created: boolean;
  /** What the kind says a caller should know before it runs (a move's host-local state). */
  warnings: string[];
}

/** A recorded snapshot of a project (`GET /v1/projects/:id/backups`), newest first. */
export interface ProjectBackup {
  snapshot_id: string;
  region: string;
  tags: string[];
  bytes: number | null;
  created_at: string;
  /** The op that took it, when an op did. */
  op_id: string | null;
}

export type { WatchEvent } from '../shared/events.js';

export class LroApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    opts?: { cause?: unknown },
  ) {
    super(message, opts);
    this.name = 'LroApiError';
  }
}

/** A project as `GET /v1/projects` lists it. */
export interface ListedProject {
  project_id: string;
  title: string;
  host_id: string | null;
  host_name: string | null;
  host_status: string | null;
  backup_state: 'none' | 'fresh' | 'stale';
  run_state: 'running' | 'stopped';
  last_edited: string | null;
  last_backup: string | null;
}
/** A host as `GET /v1/hosts` lists it. */
export interface ListedHost {
  host_id: string;
  name: string;
  region: string;
  status: string;
  last_seen: string | null;
}

export class LroClient {
  readonly #base: string;
  readonly #token: string;
  readonly #fetch: typeof fetch;

  constructor(opts: { baseUrl: string; token: string; fetch?: typeof fetch }) {
    this.#base = opts.baseUrl.replace(/\/$/, '');
    this.#token = opts.token;
    this.#fetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /** The op, whether this call created it (201) or found it active under the dedupe key (200), and its kind's warnings. */
  async create(body: CreateOpBody): Promise<CreateAnswer> {
    return createAnswer(await this.#call('POST', '/v1/ops', body));
  }
  get(opId: string): Promise<Operation> {
    return this.#json('GET', `/v1/ops/${encodeURIComponent(opId)}`);
  }
  list(query: ListQuery = {}): Promise<{ ops: Operation[]; next_cursor: string | null }> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, Array.isArray(v) ? v.join(',') : String(v));
    return this.#json('GET', `/v1/ops${q.size ? `?${q}` : ''}`);
  }
  /** The op once terminal, or as it stands after `timeoutS` (at most 300). */
  wait(opId: string, timeoutS = 30, signal?: AbortSignal): Promise<Operation> {
    return this.#json('GET', `/v1/ops/${encodeURIComponent(opId)}/wait?timeout_s=${timeoutS}`, undefined, signal);
  }
  cancel(opId: string): Promise<Operation> {
    return this.#json('POST', `/v1/ops/${encodeURIComponent(opId)}/cancel`);
  }
  /**
   * A new op for a failed, canceled or expired one (`parent_id` names it; `created: true`), or the
   * active op that holds its dedupe key (`created: false`): the hub's answer as it is.
   */
  retry(opId: string): Promise<Operation & { created: boolean; warnings?: string[] }> {
    return this.#json('POST', `/v1/ops/${encodeURIComponent(opId)}/retry`);
  }
  dismiss(opId: string): Promise<Operation> {
    return this.#json('POST', `/v1/ops/${encodeURIComponent(opId)}/dismiss`);
  }
  kinds(): Promise<{ kinds: { name: string; input_schema: unknown }[] }> {
    return this.#json('GET', '/v1/kinds');
  }
  /** The caller's projects (the admin: all), newest first; `q` matches titles. */
  projects(q?: string): Promise<{ projects: ListedProject[] }> {
    return this.#json('GET', `/v1/projects?${new URLSearchParams({ limit: '500', ...(q ? { q } : {}) })}`);
  }
  /** The hosts the caller administers (the admin: all). */
  hosts(): Promise<{ hosts: ListedHost[] }> {
    return this.#json('GET', '/v1/hosts');
  }
  /** A project's recorded snapshots, newest first. */
  backups(projectId: string): Promise<{ backups: ProjectBackup[] }> {
    return this.#json('GET', `/v1/projects/${encodeURIComponent(projectId)}/backups`);
  }
  /** One folder of a project's snapshot (`path` inside it; '' its root), folders first. */
  backupTree(projectId: string, snapshotId: string, path = ''): Promise<SnapshotFolder> {
    const q = new URLSearchParams({ path });
    return this.#json('GET', `/v1/projects/${encodeURIComponent(projectId)}/backups/${encodeURIComponent(snapshotId)}/tree?${q}`);
  }

  /**
   * The op's events as they happen, from `fromSeq`: reconnects by itself (with backoff) and resumes
   * after the last event it saw; ends after the terminal summary or when `signal` aborts.
   */
  async *watch(opId: string, opts: { fromSeq?: number; signal?: AbortSignal } = {}): AsyncGenerator<WatchEvent> {
    const { signal } = opts;
    let next = opts.fromSeq ?? 1;
    while (!signal?.aborted) {
      let res: Response;
      try {
        res = await retry(() => this.#openEvents(opId, next, signal), {
          backoff: RETRY.client,
          signal,
          fatal: (err) => err instanceof LroApiError,
        });
      } catch (err) {
        if (signal?.aborted) return;
        throw err;
      }
      try {
        for await (const event of parseSse(res.body!)) {
          if (event.id !== undefined) next = event.id + 1;
          yield event;
          if (event.event === 'summary' && isTerminal(event.data.summary.status)) return;
        }
      } catch {
        if (signal?.aborted) return;
      }
      // The connection dropped before the end: resume after a pause (a hub that drops every stream
      // at once is not hammered).
      await sleep(backoffMs(1, RETRY.client), signal).catch(() => {});
    }
  }

  /**
   * Opens the op's event stream from `fromSeq`. A 5xx (a hub shutting down, a database restarting)
   * or no answer throws to be retried like a dropped connection; any other refusal is an `LroApiError`.
   */
  async #openEvents(opId: string, fromSeq: number, signal?: AbortSignal): Promise<Response> {
    const res = await this.#fetch(`${this.#base}/v1/ops/${encodeURIComponent(opId)}/events?from_seq=${fromSeq}`, {
      headers: { accept: 'text/event-stream', authorization: `Bearer ${this.#token}` },
      signal,
    });
    if (res.status >= 500) {
      await res.body?.cancel();
      throw new Error(`the hub answered ${res.status}`);
    }
    if (res.status !== 200) throw await apiError(res);
    return res;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each caller names the answer it expects
  async #call(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<{ status: number; json: any }> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.#token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await this.#fetch(this.#base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw unreachable(this.#base, err);
    }
    if (!res.ok) throw await apiError(res);
    return { status: res.status, json: await res.json() };
  }

  async #json<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    return (await this.#call(method, path, body, signal)).json as T;
  }
}

/** The answer of a create, split into the op and the two fields the hub adds to it. */
function createAnswer({ status, json }: { status: number; json: Operation & { created?: boolean; warnings?: string[] } }): CreateAnswer {
  const { created: _, warnings = [], ...op } = json;
  return { op, created: status === 201, warnings };
}

/** No answer at all (status 0, code `unreachable`): which hub, and what failed, e.g. ECONNREFUSED from fetch's cause. */
function unreachable(base: string, err: unknown): LroApiError {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const what = cause?.code ?? cause?.message ?? (err as Error).message;
  return new LroApiError(0, 'unreachable', `cannot reach the hub at ${base} (${what})`, undefined, { cause: err });
}

async function apiError(res: Response): Promise<LroApiError> {
  const body = await res.json().catch(() => null);
  const e = body?.error;
  return new LroApiError(res.status, e?.code ?? 'http_error', e?.message ?? `HTTP ${res.status}`, e?.details);
}

/**
 * Parses a text/event-stream body into events (comments and keep-alives are skipped). The hub's
 * frames are trusted to be what `WatchEvent` says (its events were validated when stored).
 */
export async function* parseSse(body: ReadableStream<Uint8Array>): AsyncGenerator<WatchEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let id: number | undefined;
        let event = 'message';
        let data = '';
        for (const line of frame.split('\n')) {
          if (!line || line.startsWith(':')) continue;
          const i = line.indexOf(':');
          const field = i < 0 ? line : line.slice(0, i);
          const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
          if (field === 'id') id = Number(value);
          else if (field === 'event') event = value;
          else if (field === 'data') data += data ? `\n${value}` : value;
        }
        if (data) yield { id, event, data: JSON.parse(data) } as WatchEvent;
      }
    }
  } finally {
    reader.releaseLock();
  }
}
