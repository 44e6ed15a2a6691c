/**
 * `<lro-progress op-id="…" base-url="…" token="…">`: a dependency-free custom element that shows one
 * op's live progress in the style of a boot log: a bar per phase (name, percent, current/total with
 * units, speed, ETA), an overall bar from the phase weights, the status in words, the message log.
 * Bars are `role="progressbar"` with aria values and a text a screen reader can follow; colour is
 * never the only signal.
 */
import { watchOp, type OpState, type PhaseState } from './watch-op.js';

const STYLE = `
:host { display: block; font: 14px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; color: #1b1f24; }
.status { font-weight: 600; margin: 0 0 .5em; }
.status[data-status=failed], .status[data-status=expired] { color: #b42318; }
.status[data-status=succeeded] { color: #067647; }
.conn { font-size: 12px; color: #6a5a00; min-height: 1.2em; }
.row { display: grid; grid-template-columns: 9em 1fr 22em; gap: .6em; align-items: center; margin: .2em 0; }
.name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.bar { height: .9em; border: 1px solid #8c959f; border-radius: 3px; background: #f6f8fa; overflow: hidden; }
.fill { height: 100%; background: repeating-linear-gradient(45deg, #2f81f7, #2f81f7 6px, #539bf5 6px, #539bf5 12px); }
.row.overall .fill { background: #1f6feb; }
.text { font-size: 12px; white-space: nowrap; }
.error { color: #b42318; margin: .5em 0; }
ol { margin: .5em 0 0; padding-left: 3em; max-height: 12em; overflow: auto; font-size: 12px; }
li[data-level=warn]::before { content: "warning: "; font-weight: 600; }
li[data-level=error]::before { content: "error: "; font-weight: 600; }
`;

const LABELS: Record<string, string> = {
  queued: 'queued', running: 'running', succeeded: 'succeeded', failed: 'failed', canceled: 'canceled', expired: 'expired',
};

export function statusText(s: OpState): string {
  if (s.connection === 'not_found') return 'not found';
  if (s.connection === 'unauthorized') return 'not signed in';
  let text = LABELS[s.status] ?? s.status;
  if (s.status === 'running' && s.stalled) text = 'stalled (no progress lately)';
  if (s.cancelRequested && s.status === 'running') text = 'cancel requested';
  return text;
}

const fmtSeconds = (s: number) => (s >= 3600 ? `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m` : s >= 60 ? `${Math.floor(s / 60)}m${Math.round(s % 60)}s` : `${Math.round(s)}s`);

function phaseText(p: PhaseState): string {
  const parts = [`${Math.round(p.percent ?? 0)}%`];
  if (p.total !== undefined) parts.push(`${p.current}/${p.total}${p.unit ? ` ${p.unit}` : ''}`);
  if (p.speed !== undefined) parts.push(`${p.speed.toFixed(1)}/s`);
  if (p.eta_s !== undefined && (p.percent ?? 0) < 100) parts.push(`eta ${fmtSeconds(p.eta_s)}`);
  return parts.join(' · ');
}

function bar(label: string, percent: number, text: string, extra = ''): string {
  const v = Math.round(Math.max(0, Math.min(100, percent)));
  return `<div class="row ${extra}"><span class="name">${escapeHtml(label)}</span>
    <div class="bar" role="progressbar" aria-label="${escapeHtml(label)}" aria-valuemin="0" aria-valuemax="100" aria-valuenow="${v}"
      aria-valuetext="${escapeHtml(`${label}: ${text}`)}"><div class="fill" style="width:${v}%"></div></div>
    <span class="text">${escapeHtml(text)}</span></div>`;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export class LroProgressElement extends HTMLElement {
  static observedAttributes = ['op-id', 'base-url', 'token'];
  #watch: { stop(): void } | null = null;
  #root = this.attachShadow({ mode: 'open' });
  #state: OpState | null = null;
  #ticker: ReturnType<typeof setInterval> | null = null;

  connectedCallback() { this.#start(); }
  disconnectedCallback() { this.#stop(); }
  attributeChangedCallback() { if (this.isConnected) this.#start(); }

  /** The latest state (for the page around it: its buttons). */
  get state(): OpState | null { return this.#state; }

  #start() {
    this.#stop();
    const opId = this.getAttribute('op-id');
    const token = this.getAttribute('token') ?? '';
    if (!opId) return;
    this.#root.innerHTML = `<style>${STYLE}</style><div aria-live="polite" class="status">connecting…</div>`;
    this.#watch = watchOp({ baseUrl: this.getAttribute('base-url') ?? '', token, opId, onUpdate: (s) => this.#render(s) });
    this.#ticker = setInterval(() => this.#state && this.#render(this.#state), 1000); // elapsed time
  }

  #stop() {
    this.#watch?.stop();
    this.#watch = null;
    if (this.#ticker) clearInterval(this.#ticker);
  }

  #render(s: OpState) {
    this.#state = s;
    const end = s.finishedAt ? Date.parse(s.finishedAt) : Date.now();
    const elapsed = s.startedAt ? ` · elapsed ${fmtSeconds((end - Date.parse(s.startedAt)) / 1000)}` : '';
    const conn = s.connection === 'lost' ? 'connection lost — reconnecting, will resume where it left off…' : '';
    const bars = s.phases.map((p) => bar(p.phase, p.percent ?? 0, phaseText(p))).join('');
    const overall = s.phases.length ? bar('overall', s.overall, `${Math.round(s.overall)}%${elapsed}`, 'overall') : '';
    const error = s.error && s.status !== 'canceled' ? `<div class="error" role="alert">error: ${escapeHtml(s.error.message)}</div>` : '';
    const log = s.log.length ? `<ol aria-label="messages">${s.log.map((l) => `<li data-level="${l.level}">${escapeHtml(`${l.phase}: ${l.message}`)}</li>`).join('')}</ol>` : '';
    this.#root.innerHTML = `<style>${STYLE}</style>
      <div class="status" data-status="${s.status}" aria-live="polite">status: <span class="status-text">${escapeHtml(statusText(s))}</span>${s.attempt && s.attempt > 1 ? ` (attempt ${s.attempt})` : ''}</div>
      <div class="conn" aria-live="polite">${conn}</div>${overall}${bars}${error}${log}`;
    this.dispatchEvent(new CustomEvent('lro-update', { detail: s }));
  }
}

if (!customElements.get('lro-progress')) customElements.define('lro-progress', LroProgressElement);
