/**
 * `watchOp()`: a headless, framework-free view of one op's live progress over SSE, for the page, the
 * `<lro-progress>` element, or React and friends. It reconnects by itself and resumes after the last
 * event it saw; `connection` says when it is lost.
 */
import { parseSse } from '../client/client.js';
import { backoffMs, retry, sleep } from '../shared/backoff.js';
import { RETRY } from '../shared/defaults.js';
import type { WatchEvent } from '../shared/events.js';
import { isTerminal } from '../shared/status.js';
import type { PhaseSummary } from '../shared/progress.js';

/** A phase as the worker summarises it, less its timestamps and message. */
export type PhaseState = Pick<PhaseSummary, 'phase' | 'percent' | 'current' | 'total' | 'unit' | 'weight' | 'speed' | 'eta_s'>;

export interface OpState {
  opId: string;
  status: string;
  stalled: boolean;
  cancelRequested: boolean;
  attempt?: number;
  error?: { code: string; message: string };
  result?: unknown;
  startedAt?: string;
  finishedAt?: string;
  phases: PhaseState[];
  /** Overall percent from the phases' weights. */
  overall: number;
  log: { seq: number; level: string; phase: string; message: string; ts: string }[];
  connection: 'connecting' | 'live' | 'lost' | 'ended' | 'not_found' | 'unauthorized';
  lastSeq: number;
}

export function watchOp(opts: { baseUrl?: string; token: string; opId: string; onUpdate: (s: OpState) => void }): { stop(): void } {
  const base = (opts.baseUrl ?? '').replace(/\/$/, '');
  const ac = new AbortController();
  const phases = new Map<string, PhaseState>();
  /** Per phase: the progress of its first event, and whether it has started running (moved past it, or spoke). */
  const starts = new Map<string, { first: number | undefined; started: boolean }>();
  const state: OpState = {
    opId: opts.opId,
    status: 'queued',
    stalled: false,
    cancelRequested: false,
    phases: [],
    overall: 0,
    log: [],
    connection: 'connecting',
    lastSeq: 0,
  };
  const emit = () => {
    // An op that ended has no running phase, so no ETA (its last progress events still carry theirs).
    state.phases = [...phases.values()].map((p) => (isTerminal(state.status) ? { ...p, eta_s: undefined } : p));
    const weight = state.phases.reduce((s, p) => s + p.weight, 0);
    state.overall =
      state.status === 'succeeded' ? 100 : weight ? state.phases.reduce((s, p) => s + (p.percent ?? 0) * p.weight, 0) / weight : 0;
    opts.onUpdate({ ...state, phases: state.phases.map((p) => ({ ...p })), log: [...state.log] });
  };

  function apply(e: WatchEvent) {
    if (e.event === 'summary') {
      const s = e.data.summary;
      Object.assign(state, {
        status: s.status,
        stalled: !!s.stalled,
        cancelRequested: !!s.cancel_requested,
        attempt: s.attempt,
        error: s.error,
        result: s.result,
        startedAt: s.started_at,
        finishedAt: s.finished_at,
      });
      // The worker's summary knows which phases run: one without an ETA there has none.
      for (const p of s.progress?.phases ?? []) phases.set(p.phase, { ...phases.get(p.phase), ...p, eta_s: p.eta_s });
    } else if (e.event === 'progress') {
      const data = e.data;
      const prior: PhaseState = phases.get(data.phase) ?? { phase: data.phase, percent: null, weight: 1 };
      const p = data.progress;
      const next: PhaseState = { ...prior, speed: data.speed ?? prior.speed, eta_s: data.eta_s };
      if (typeof p === 'number') next.percent = p;
      else if (p)
        Object.assign(next, {
          current: p.current,
          total: p.total,
          unit: p.unit ?? prior.unit,
          weight: p.weight ?? prior.weight,
          percent: p.total > 0 ? Math.min(100, (100 * p.current) / p.total) : null,
        });
      phases.set(data.phase, next);
      startPhase(data.phase, typeof p === 'number' ? p : p?.current, !!data.message);
      if (data.message)
        state.log.push({ seq: data.seq, level: data.level ?? 'info', phase: data.phase, message: data.message, ts: data.ts });
      if (state.stalled) state.stalled = false;
    }
    if (e.event !== 'gap' && typeof e.data.seq === 'number') state.lastSeq = e.data.seq;
  }

  /** When a phase starts running, the phases before it are done with, as the worker sees it: their ETAs go. */
  function startPhase(phase: string, value: number | undefined, spoke: boolean) {
    let known = starts.get(phase);
    if (!known) starts.set(phase, (known = { first: undefined, started: false }));
    const moved = value !== undefined && value > (known.first ?? 0);
    known.first ??= value;
    if (known.started || !(spoke || moved)) return;
    known.started = true;
    for (const [name, p] of phases) {
      if (name === phase) break;
      p.eta_s = undefined;
    }
  }

  /** Opens the stream after the last event seen; null when there is nothing to watch (not found, not allowed). */
  async function open(): Promise<Response | null> {
    const res = await fetch(`${base}/v1/ops/${encodeURIComponent(opts.opId)}/events?from_seq=${state.lastSeq + 1}`, {
      headers: { accept: 'text/event-stream', authorization: `Bearer ${opts.token}` },
      signal: ac.signal,
    });
    if (res.status === 404 || res.status === 400) {
      state.connection = 'not_found';
      return null;
    }
    if (res.status === 401) {
      state.connection = 'unauthorized';
      return null;
    }
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
    return res;
  }

  const lost = () => {
    state.connection = 'lost';
    emit();
  };
  void (async () => {
    while (!ac.signal.aborted) {
      // retry() throws only when stopped.
      const res = await retry(open, { backoff: RETRY.client, signal: ac.signal, onRetry: lost }).catch(() => null);
      if (ac.signal.aborted) return;
      if (!res) {
        emit();
        return;
      }
      state.connection = 'live';
      emit();
      try {
        for await (const e of parseSse(res.body!)) {
          apply(e);
          emit();
        }
      } catch {
        if (ac.signal.aborted) return;
      }
      if (isTerminal(state.status)) {
        state.connection = 'ended';
        emit();
        return;
      }
      lost();
      await sleep(backoffMs(1, RETRY.client), ac.signal).catch(() => {});
    }
  })();
  return { stop: () => ac.abort() };
}
