/**
 * Operations: the caller's ops (a bar per running one, status in words and colour, the project's
 * title for its scope, relative times, filters as selects where the values are known) and one op's
 * view (its facts, live phase bars, the actions its state allows).
 */
import { api, token } from '../api.js';
import { $, dataTable, html, miniBar, relTime, say, statusBadge, type Raw } from '../dom.js';
import type { LroProgressElement } from '../lro-progress.js';
import { navigate, type View } from '../nav.js';
import { syncBars } from './live.js';
import { isTerminal, isUnsuccessful, SCOPE_TYPES, STATUSES } from '../../shared/status.js';
import { shortOpId, type Operation } from '../../shared/operation.js';
import type { OpState } from '../watch-op.js';

/** Project titles by id, fetched once per page for the scopes a list shows. */
const titles = new Map<string, string>();
async function learnTitles(ids: string[]) {
  const unknown = [...new Set(ids)].filter((id) => !titles.has(id)).slice(0, 200);
  if (!unknown.length) return;
  const { projects } = await api<{ projects: { project_id: string; title: string }[] }>('GET', `/v1/projects?ids=${unknown.join(',')}`);
  for (const id of unknown) titles.set(id, projects.find((p) => p.project_id === id)?.title ?? '');
}

/** An op's scope as a person reads it: the project's title (a link), else type and short id. */
export function scopeCell(op: Pick<Operation, 'scope_type' | 'scope_id'>): Raw {
  if (op.scope_type === 'project') {
    const title = titles.get(op.scope_id);
    return html`<a href="/projects/${op.scope_id}">${title || `project ${op.scope_id.slice(0, 8)}`}</a>`;
  }
  if (op.scope_type === 'host') return html`<a href="/hosts/${op.scope_id}">host ${op.scope_id.slice(0, 8)}</a>`;
  return html`${op.scope_type}${op.scope_type === 'hub' ? '' : ` ${op.scope_id.slice(0, 8)}`}`;
}

/** One op as a table row: id, kind, status, bar, scope, times. */
export function opRow(op: Operation): Raw {
  const running = op.status === 'running';
  const percent = op.status === 'succeeded' ? 100 : (op.progress_summary?.percent ?? 0);
  const bar = miniBar(percent, `${op.kind} progress`, !running, isUnsuccessful(op.status));
  const extra = running && op.cancel_requested_at ? 'cancel requested' : running && op.progress_summary?.stalled ? 'stalled' : '';
  return html`<tr data-op="${op.op_id}">
    <td data-label="op"><a href="/ops/${op.op_id}" aria-label="operation ${shortOpId(op.op_id)}, ${op.kind}">${shortOpId(op.op_id)}</a></td>
    <td data-label="kind">${op.kind}</td>
    <td data-label="status">${statusBadge(op.status, extra)}</td>
    <td data-label="progress">${op.status === 'queued' ? html`<span class="muted">waiting</span>` : bar}</td>
    <td data-label="scope">${scopeCell(op)}</td>
    <td data-label="created">${relTime(op.created_at)}</td>
  </tr>`;
}

export const OPS_TABLE = dataTable(['op', 'kind', 'status', 'progress', 'scope', 'created'], html``, 'ops-table');

/** Fills `tbody` with the ops `query` lists, every 2 s until stopped; errors into `errorEl`. */
export function liveOps(
  root: HTMLElement,
  query: URLSearchParams,
  errorEl: HTMLElement,
  onOps?: (ops: Operation[], nextCursor: string | null) => void,
): () => void {
  let stopped = false;
  const load = async () => {
    try {
      const { ops, next_cursor } = await api<{ ops: Operation[]; next_cursor: string | null }>('GET', `/v1/ops?${query}`);
      await learnTitles(ops.filter((o) => o.scope_type === 'project').map((o) => o.scope_id));
      if (stopped) return;
      errorEl.textContent = '';
      $(root, '.ops-table tbody').innerHTML = ops.length
        ? ops
            .map(opRow)
            .map((r) => r.text)
            .join('')
        : html`<tr>
            <td colspan="6" class="muted">no operations</td>
          </tr>`.text;
      onOps?.(ops, next_cursor);
    } catch (err) {
      if (!stopped) say(errorEl, (err as Error).message);
    }
  };
  void load();
  const timer = setInterval(load, 2000);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}

/**
 * A scope's ops in the page's table, with a live bar in `live` for each running one; `changed` is
 * called when an op began or ended (the page's facts may have changed with it).
 */
export function scopeOps(main: HTMLElement, scope: { type: string; id: string }, live: HTMLElement, changed: () => void): () => void {
  let seen: string | null = null;
  const query = new URLSearchParams({ scope_type: scope.type, scope_id: scope.id, limit: '20' });
  return liveOps(main, query, $(main, '#ops-error'), (ops) => {
    syncBars(
      live,
      ops.filter((o) => o.status === 'running' && !o.parent_id), // a child's progress is in its parent's bar
    );
    const now = ops.map((o) => o.op_id + o.status).join();
    if (seen !== null && now !== seen) changed();
    seen = now;
  });
}

const select = (name: string, label: string, values: readonly string[], current: string | null) =>
  html`<label
    >${label}
    <select name="${name}">
      <option value="">any</option>
      ${values.map((v) => html`<option${v === current ? ' selected' : ''}>${v}</option>`)}
    </select></label
  >`;

export const opsList: View = (main) => {
  const params = new URLSearchParams(location.search);
  main.innerHTML = html`<h1>Operations</h1>
    <form class="filters" aria-label="filters">
      ${select('status', 'status', STATUSES, params.get('status'))}${select('kind', 'kind', [], params.get('kind'))}
      ${select('scope_type', 'scope', SCOPE_TYPES, params.get('scope_type'))}
      <label>scope id <input name="scope_id" value="${params.get('scope_id') ?? ''}" size="12" /></label><button>Filter</button>
    </form>
    ${OPS_TABLE}
    <p id="older"></p>
    <p id="list-error" role="alert"></p>`.text;
  const form = $<HTMLFormElement>(main, 'form');
  void api<{ kinds: { name: string }[] }>('GET', '/v1/kinds').then(
    ({ kinds }) => {
      const kindSelect = $<HTMLSelectElement>(form, '[name=kind]');
      kindSelect.insertAdjacentHTML(
        'beforeend',
        kinds.map((k) => html`<option${k.name === params.get('kind') ? ' selected' : ''}>${k.name}</option>`.text).join(''),
      );
    },
    () => undefined,
  ); // the list says what failed
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v) q.set(k, String(v));
    navigate(`/?${q}`);
  });
  const query = new URLSearchParams(params);
  if (!query.has('limit')) query.set('limit', '100'); // `/?limit=20` pages smaller
  // More than a page: a link to the next (older) one, with the same filters.
  return liveOps(main, query, $(main, '#list-error'), (_ops, next) => {
    const older = new URLSearchParams(params);
    if (next) older.set('cursor', next);
    $(main, '#older').innerHTML = next ? html`<a href="/?${older}">older operations →</a>`.text : '';
  });
};

export const opView: View = (main, opId) => {
  main.innerHTML = html`<p><a href="/">← all operations</a></p>
    <h1>Operation <code>${shortOpId(opId)}</code></h1>
    <dl class="facts" id="facts"></dl>
    <lro-progress></lro-progress>
    <p class="actions">
      <button data-action="cancel" hidden>Cancel</button> <button data-action="retry" hidden>Retry</button>
      <button data-action="dismiss" hidden>Dismiss</button>
    </p>
    <p id="action-error" role="alert"></p>`.text;
  const el = main.querySelector('lro-progress') as LroProgressElement;
  el.setAttribute('token', token() ?? '');
  el.setAttribute('op-id', opId);
  let lastStatus = '';
  const facts = async () => {
    const op = await api<Operation>('GET', `/v1/ops/${opId}`).catch(() => null);
    if (!op) return;
    await learnTitles(op.scope_type === 'project' ? [op.scope_id] : []).catch(() => undefined);
    $(main, '#facts').innerHTML = html`<dt>kind</dt>
      <dd>${op.kind}</dd>
      <dt>scope</dt>
      <dd>${scopeCell(op)}</dd>
      <dt>status</dt>
      <dd>${statusBadge(op.status)}</dd>
      <dt>attempts</dt>
      <dd>${op.attempt} of ${op.max_attempts}</dd>
      <dt>created</dt>
      <dd>${relTime(op.created_at)}</dd>
      <dt>started</dt>
      <dd>${op.started_at ? relTime(op.started_at) : 'not yet'}</dd>
      <dt>finished</dt>
      <dd>${op.finished_at ? relTime(op.finished_at) : 'not yet'}</dd>
      ${
        op.parent_id
          ? html`<dt>part of</dt>
              <dd><a href="/ops/${op.parent_id}">operation ${shortOpId(op.parent_id)}</a></dd>`
          : ''
      }
      <dt>id</dt>
      <dd><code>${op.op_id}</code></dd>`.text;
  };
  void facts();
  el.addEventListener('lro-update', (e) => {
    const s = (e as CustomEvent<OpState>).detail;
    const terminal = isTerminal(s.status);
    const known = s.connection !== 'not_found' && s.connection !== 'unauthorized';
    if (s.status !== lastStatus) void facts();
    lastStatus = s.status;
    if (s.connection === 'not_found') $(main, 'h1').textContent = 'Operation not found';
    $<HTMLButtonElement>(main, '[data-action=cancel]').hidden = !known || terminal;
    $<HTMLButtonElement>(main, '[data-action=retry]').hidden = !known || !isUnsuccessful(s.status);
    $<HTMLButtonElement>(main, '[data-action=dismiss]').hidden = !known || !terminal;
  });
  $(main, '.actions').addEventListener('click', async (e) => {
    const action = (e.target as HTMLElement).dataset.action;
    if (!action) return;
    try {
      const body = await api<{ op_id: string }>('POST', `/v1/ops/${opId}/${action}`);
      say($(main, '#action-error'), action === 'dismiss' ? 'dismissed: it no longer shows in lists' : `${action} requested`, 'info');
      if (action === 'retry' && body.op_id !== opId) navigate(`/ops/${body.op_id}`);
    } catch (err) {
      say($(main, '#action-error'), (err as Error).message);
    }
  });
};
