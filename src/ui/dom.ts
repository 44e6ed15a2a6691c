/** The page's small DOM vocabulary: escaped HTML templates, times people read, status in words and colour. */
import { escapeHtml } from './lro-progress.js';

/** Trusted markup: `html` leaves it as it is. */
export class Raw {
  constructor(readonly text: string) {}
}
export const raw = (text: string) => new Raw(text);

/** A template whose values are escaped (arrays joined, `Raw` and nested `html` kept, null/false empty). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Raw {
  const part = (v: unknown): string =>
    v instanceof Raw
      ? v.text
      : Array.isArray(v)
        ? v.map(part).join('')
        : v === null || v === undefined || v === false
          ? ''
          : escapeHtml(String(v));
  return raw(strings.reduce((out, s, i) => out + s + (i < values.length ? part(values[i]) : ''), ''));
}

/** `3 projects`, `1 project`. */
export const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export const $ = <E extends Element = HTMLElement>(root: ParentNode, sel: string) => root.querySelector(sel) as E;

/** "3 min ago", "in 2 h"; the exact time is the title. */
export function relTime(at: string | Date | null | undefined): Raw {
  if (!at) return html`<span class="muted">never</span>`;
  const iso = new Date(at).toISOString(); // JSON gives strings where the shared types say Date
  const s = Math.round((Date.parse(iso) - Date.now()) / 1000);
  const abs = Math.abs(s);
  const [n, unit] =
    abs < 45
      ? [0, '']
      : abs < 3600
        ? [Math.round(abs / 60), 'min']
        : abs < 86_400
          ? [Math.round(abs / 3600), 'h']
          : [Math.round(abs / 86_400), 'd'];
  const text = unit === '' ? 'just now' : s < 0 ? `${n} ${unit} ago` : `in ${n} ${unit}`;
  return html`<time datetime="${iso}" title="${new Date(iso).toLocaleString()}">${text}</time>`;
}

/** An op's status as a word in its colour (the word carries it; colour is never the only signal). */
export function statusBadge(status: string, extra = ''): Raw {
  return html`<span class="badge s-${status}">${status}${extra ? ` (${extra})` : ''}</span>`;
}

const BACKUP_WORDS: Record<string, string> = {
  none: 'never backed up',
  fresh: 'backed up',
  stale: 'changed since its last backup',
};
export const backupBadge = (state: string) => html`<span class="badge b-${state}">${BACKUP_WORDS[state] ?? state}</span>`;

/** A page section that could not be drawn: its title and the hub's reason, as an alert. */
export function failedSection(el: Element, title: string, err: unknown): void {
  el.innerHTML = html`<h1>${title}</h1>
    <p role="alert" class="error"></p>`.text;
  say(el.querySelector('p')!, (err as Error).message);
}

/** A message in a live region (errors are alerts). */
export function say(el: Element, message: string, kind: 'error' | 'info' = 'error'): void {
  el.textContent = message;
  el.className = kind === 'error' ? 'error' : 'info';
}

/** A progress bar drawn from a summary percent (lists: no stream per row). */
export function miniBar(percent: number, label: string, ended: boolean, failed = false): Raw {
  const v = Math.round(Math.max(0, Math.min(100, percent)));
  return html`<span
      class="mini${ended ? ' ended' : ''}${failed ? ' failed' : ''}"
      role="progressbar"
      aria-label="${label}"
      aria-valuemin="0"
      aria-valuemax="100"
      aria-valuenow="${v}"
      ><span style="width:${v}%"></span
    ></span>
    <span class="pct">${v}%</span>`;
}

/** A table that reads as a list of cards at 360 px (each cell labelled by its `data-label`). */
export const dataTable = (headers: string[], body: Raw, className = '') =>
  html`<div class="table-wrap ${className}">
    <table class="responsive">
      <thead>
        <tr>
          ${headers.map((h) => html`<th>${h}</th>`)}
        </tr>
      </thead>
      <tbody>
        ${body}
      </tbody>
    </table>
  </div>`;

/** A dialog form's buttons: the one that acts (`value`) and Close. */
export const dialogButtons = (value: string, label: string) =>
  html`<p class="actions">
    <button value="${value}" class="primary" id="${value}-go">${label}</button> <button value="cancel" formnovalidate>Close</button>
  </p>`;
