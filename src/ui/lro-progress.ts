/**
 * `<lro-progress op-id="…" base-url="…" token="…">`: a dependency-free custom element that shows one
 * op's live progress in the style of a boot log: a bar per phase (name, percent, current/total with
 * units, speed, ETA), an overall bar from the phase weights, the status in words, the message log.
 * Bars are `role="progressbar"` with aria values and a text a screen reader can follow; colour is
 * never the only signal.
 */
import { watchOp, type OpState, type PhaseState } from './watch-op.js';
import { formatAmount, formatSpeed } from '../shared/progress.js';
import { isTerminal } from '../shared/status.js';

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
.row.overall .fill, .row.done .fill, .bars.ended .fill { background: #1f6feb; }
.bars.failed .row:not(.done) .fill { background: #b42318; }
.text { font-size: 12px; white-space: nowrap; }
.error { color: #b42318; margin: .5em 0; }
ol { margin: .6em 0 0; padding: .3em .6em .3em 3.5em; max-height: 12em; overflow: auto; font-size: 12px; }
ol { border: 1px solid #d0d7de; border-radius: 3px; background: #f6f8fa; }
li[data-level=warn]::before { content: "warning: "; font-weight: 600; }
li[data-level=error]::before { content: "error: "; font-weight: 600; }
@media (max-width: 600px) { .row { grid-template-columns: 6em 1fr; } .text { grid-column: 1 / -1; white-space: normal; } }
`;

export function statusText(s: OpState): string {
  if (s.connection === 'not_found') return 'not found';
  if (s.connection === 'unauthorized') return 'not signed in';
  let text: string = s.status;
  if (s.status === 'running' && s.stalled) text = 'stalled (no progress lately)';
  if (s.cancelRequested && s.status === 'running') text = 'cancel requested';
  return text;
}

const fmtSeconds = (s: number) =>
  s >= 3600
    ? `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${Math.round(s % 60)}s`
      : `${Math.round(s)}s`;

function phaseText(p: PhaseState): string {
  const parts = [`${Math.round(p.percent ?? 0)}%`];
  if (p.total !== undefined) parts.push(formatAmount(p.current ?? 0, p.total, p.unit));
  if (p.speed !== undefined) parts.push(formatSpeed(p.speed, p.unit));
  if (p.eta_s !== undefined && (p.percent ?? 0) < 100) parts.push(`eta ${fmtSeconds(p.eta_s)}`);
  return parts.join(' · ');
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** One bar's elements, made once and then only changed. */
interface Row {
  bar: HTMLElement;
  fill: HTMLElement;
  /** The span after the bar, and the text node in it that says the percent, count, speed and ETA. */
  text: HTMLElement;
  value: Text;
}

function h<K extends keyof HTMLElementTagNameMap>(tag: K, className = '', text = ''): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text) e.textContent = text;
  return e;
}

function makeRow(parent: HTMLElement, label: string, extra = ''): Row {
  const row = h('div', `row ${extra}`.trim());
  const bar = h('div', 'bar');
  const fill = h('div', 'fill');
  const text = h('span', 'text');
  const value = document.createTextNode('');
  text.append(value);
  bar.setAttribute('role', 'progressbar');
  bar.setAttribute('aria-label', label);
  bar.setAttribute('aria-valuemin', '0');
  bar.setAttribute('aria-valuemax', '100');
  bar.append(fill);
  row.append(h('span', 'name', label), bar, text);
  parent.append(row);
  return { bar, fill, text, value };
}

function setRow(r: Row, label: string, percent: number, text: string): void {
  const v = Math.round(Math.max(0, Math.min(100, percent)));
  r.bar.parentElement!.classList.toggle('done', v === 100); // a finished bar stops its stripes
  r.bar.setAttribute('aria-valuenow', String(v));
  r.bar.setAttribute('aria-valuetext', `${label}: ${text}`);
  r.fill.style.width = `${v}%`;
  r.value.data = text;
}

/** Within this many pixels of the end, the log counts as scrolled to the bottom (zoom gives fractional offsets). */
const BOTTOM_SLACK_PX = 2;

/**
 * The element's shadow DOM, built once per op and then changed in place: rebuilding it on every
 * event (and every second, for the elapsed time) threw away the log's scroll position, so a person
 * could neither read back nor see the newest line. Rows are made once per phase, log lines are
 * appended, and the log follows its newest line unless the person scrolled up from the bottom.
 */
class OpView {
  readonly #status: HTMLElement;
  readonly #statusText: HTMLElement;
  readonly #attempt: HTMLElement;
  readonly #conn: HTMLElement;
  readonly #bars: HTMLElement;
  readonly #error: HTMLElement;
  readonly #log: HTMLOListElement;
  readonly #rows = new Map<string, Row>();
  #overall: Row | null = null;
  #elapsed: Text | null = null;
  #logged = 0;

  constructor(root: ShadowRoot) {
    root.innerHTML = `<style>${STYLE}</style>
      <div class="status" aria-live="polite">status: <span class="status-text">connecting…</span><span class="attempt"></span></div>
      <div class="conn" aria-live="polite"></div><div class="bars"></div>
      <div class="error" role="alert" hidden></div><ol aria-label="messages" hidden></ol>`;
    const q = (sel: string) => root.querySelector(sel) as HTMLElement;
    [this.#status, this.#statusText, this.#attempt, this.#conn] = [q('.status'), q('.status-text'), q('.attempt'), q('.conn')];
    [this.#bars, this.#error, this.#log] = [q('.bars'), q('.error'), q('ol') as HTMLOListElement];
  }

  update(s: OpState): void {
    this.#status.dataset.status = s.status;
    this.#statusText.textContent = statusText(s);
    this.#attempt.textContent = s.attempt && s.attempt > 1 ? ` (attempt ${s.attempt})` : '';
    this.#conn.textContent = s.connection === 'lost' ? 'connection lost — reconnecting, will resume where it left off…' : '';
    if (s.phases.length && !this.#overall) {
      this.#overall = makeRow(this.#bars, 'overall', 'overall');
      this.#elapsed = document.createTextNode('');
      this.#overall.text.append(this.#elapsed);
    }
    if (this.#overall) setRow(this.#overall, 'overall', s.overall, `${Math.round(s.overall)}%`);
    const ended = s.connection !== 'not_found' && s.connection !== 'unauthorized' && isTerminal(s.status);
    this.#bars.classList.toggle('ended', ended); // nothing moves any more: no stripes
    this.#bars.classList.toggle('failed', ended && s.status !== 'succeeded');
    this.tick(s);
    for (const [i, p] of s.phases.entries()) {
      let row = this.#rows.get(p.phase);
      if (!row) this.#rows.set(p.phase, (row = makeRow(this.#bars, p.phase)));
      if (p.percent !== null) setRow(row, p.phase, p.percent, phaseText(p));
      // A phase that only spoke (no count): done once a later phase began or the op succeeded, else under way.
      else if (s.status === 'succeeded' || i < s.phases.length - 1) setRow(row, p.phase, 100, 'done');
      else setRow(row, p.phase, 0, '…');
    }
    const error = s.error && s.status !== 'canceled' ? `error: ${s.error.message}` : '';
    this.#error.textContent = error;
    this.#error.hidden = !error;
    this.#appendLog(s.log);
  }

  /** The 1 s tick: only the elapsed time changes. */
  tick(s: OpState): void {
    if (!this.#elapsed) return;
    const end = s.finishedAt ? Date.parse(s.finishedAt) : Date.now();
    const text = s.startedAt ? ` · elapsed ${fmtSeconds((end - Date.parse(s.startedAt)) / 1000)}` : '';
    if (this.#elapsed.data !== text) this.#elapsed.data = text;
  }

  #appendLog(log: OpState['log']): void {
    if (log.length === this.#logged) return;
    const ol = this.#log;
    if (log.length < this.#logged) {
      ol.replaceChildren();
      this.#logged = 0;
    }
    ol.hidden = false;
    // Measured before the new lines go in: at the bottom now means follow them.
    const follow = ol.scrollHeight - ol.scrollTop - ol.clientHeight <= BOTTOM_SLACK_PX;
    const lines = log.slice(this.#logged).map((l) => {
      const li = h('li', '', `${l.phase}: ${l.message}`);
      li.dataset.level = l.level;
      return li;
    });
    ol.append(...lines);
    this.#logged = log.length;
    if (follow) ol.scrollTop = ol.scrollHeight;
  }
}

export class LroProgressElement extends HTMLElement {
  static observedAttributes = ['op-id', 'base-url', 'token'];
  #watch: { stop(): void } | null = null;
  #root = this.attachShadow({ mode: 'open' });
  #state: OpState | null = null;
  #ticker: ReturnType<typeof setInterval> | null = null;

  connectedCallback() {
    this.#start();
  }
  disconnectedCallback() {
    this.#stop();
  }
  attributeChangedCallback() {
    if (this.isConnected) this.#start();
  }

  /** The latest state (for the page around it: its buttons). */
  get state(): OpState | null {
    return this.#state;
  }

  #start() {
    this.#stop();
    const opId = this.getAttribute('op-id');
    const token = this.getAttribute('token') ?? '';
    if (!opId) return;
    const view = new OpView(this.#root);
    this.#state = null;
    this.#watch = watchOp({
      baseUrl: this.getAttribute('base-url') ?? '',
      token,
      opId,
      onUpdate: (s) => {
        this.#state = s;
        view.update(s);
        this.dispatchEvent(new CustomEvent('lro-update', { detail: s }));
      },
    });
    this.#ticker = setInterval(() => this.#state && view.tick(this.#state), 1000); // elapsed time
  }

  #stop() {
    this.#watch?.stop();
    this.#watch = null;
    if (this.#ticker) clearInterval(this.#ticker);
  }
}

if (!customElements.get('lro-progress')) customElements.define('lro-progress', LroProgressElement);
