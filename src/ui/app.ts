/**
 * The hub's page: sign in with a token (typed, or handed once in the URL fragment `#token=…`, kept in
 * session storage), the caller's ops (filters, newest first, refreshed live), and an op view with
 * `<lro-progress>` and the actions the op's state allows.
 */
import { escapeHtml, type LroProgressElement } from './lro-progress.js';
import './lro-progress.js';
import { isTerminal } from '../shared/status.js';
import type { OpState } from './watch-op.js';
import { shortOpId, type Operation } from '../shared/operation.js';

const KEY = 'lro-token';
const main = document.querySelector('main')!;

function token(): string | null {
  const m = location.hash.match(/token=([^&]+)/);
  if (m) {
    sessionStorage.setItem(KEY, decodeURIComponent(m[1]!));
    history.replaceState(null, '', location.pathname + location.search); // never leave it in the URL
  }
  return sessionStorage.getItem(KEY);
}

async function api(method: string, path: string): Promise<Response> {
  return fetch(path, { method, headers: { authorization: `Bearer ${token()}` } });
}

function signIn() {
  main.innerHTML = `<h1>lro</h1><form id="signin"><label>API token <input name="token" type="password" autocomplete="off" required></label>
    <button>Sign in</button></form>`;
  main.querySelector('form')!.addEventListener('submit', (e) => {
    e.preventDefault();
    sessionStorage.setItem(KEY, String(new FormData(e.target as HTMLFormElement).get('token')));
    route();
  });
}

let refresh: ReturnType<typeof setInterval> | null = null;

function listView() {
  const params = new URLSearchParams(location.search);
  main.innerHTML = `<h1>Operations</h1>
    <form id="filters">${['scope_type', 'scope_id', 'kind', 'status']
      .map((f) => `<label>${f.replace('_', ' ')} <input name="${f}" value="${escapeHtml(params.get(f) ?? '')}"></label>`)
      .join(' ')}
      <button>Filter</button> <button type="button" id="signout">Sign out</button></form>
    <table><thead><tr><th>op</th><th>kind</th><th>status</th><th>progress</th><th>scope</th><th>created</th></tr></thead>
    <tbody></tbody></table>
    <p id="list-error" role="alert"></p>`;
  main.querySelector('#filters')!.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(e.target as HTMLFormElement)) if (v) q.set(k, String(v));
    history.pushState(null, '', `/?${q}`);
    route();
  });
  main.querySelector('#signout')!.addEventListener('click', () => {
    sessionStorage.removeItem(KEY);
    route();
  });
  const load = async () => {
    const q = new URLSearchParams(location.search);
    q.set('limit', '100');
    const res = await api('GET', `/v1/ops?${q}`);
    const body = await res.json();
    if (!res.ok) {
      main.querySelector('#list-error')!.textContent = body.error?.message ?? `HTTP ${res.status}`;
      return;
    }
    main.querySelector('#list-error')!.textContent = '';
    main.querySelector('tbody')!.innerHTML = body.ops
      .map(
        (op: Operation) => `<tr data-op="${op.op_id}">
      <td><a href="/ops/${op.op_id}">${shortOpId(op.op_id)}</a></td><td>${escapeHtml(op.kind)}</td>
      <td class="status">${op.status}${op.cancel_requested_at && op.status === 'running' ? ' (cancel requested)' : ''}</td>
      <td>${op.status === 'succeeded' ? 100 : Math.round(op.progress_summary?.percent ?? 0)}%</td>
      <td>${op.scope_type}:${escapeHtml(op.scope_id.slice(0, 8))}</td><td>${new Date(op.created_at).toLocaleString()}</td></tr>`,
      )
      .join('');
  };
  void load();
  refresh = setInterval(load, 2000);
}

function opView(opId: string) {
  main.innerHTML = `<p><a href="/">← all operations</a></p><h1>Operation <code>${escapeHtml(opId)}</code></h1>
    <lro-progress></lro-progress>
    <p class="actions"><button data-action="cancel" hidden>Cancel</button> <button data-action="retry" hidden>Retry</button>
      <button data-action="dismiss" hidden>Dismiss</button></p><p id="action-error" role="alert"></p>`;
  const el = main.querySelector('lro-progress') as LroProgressElement;
  el.setAttribute('token', token()!);
  el.setAttribute('op-id', opId);
  el.addEventListener('lro-update', (e) => {
    const s = (e as CustomEvent<OpState>).detail;
    const terminal = isTerminal(s.status);
    const known = s.connection !== 'not_found' && s.connection !== 'unauthorized';
    (main.querySelector('[data-action=cancel]') as HTMLButtonElement).hidden = !known || terminal;
    (main.querySelector('[data-action=retry]') as HTMLButtonElement).hidden =
      !known || !['failed', 'canceled', 'expired'].includes(s.status);
    (main.querySelector('[data-action=dismiss]') as HTMLButtonElement).hidden = !known || !terminal;
  });
  main.querySelector('.actions')!.addEventListener('click', async (e) => {
    const action = (e.target as HTMLElement).dataset.action;
    if (!action) return;
    const res = await api('POST', `/v1/ops/${opId}/${action}`);
    const body = await res.json();
    main.querySelector('#action-error')!.textContent = res.ok ? '' : (body.error?.message ?? `HTTP ${res.status}`);
    if (res.ok && action === 'retry') navigate(`/ops/${body.op_id}`);
  });
}

function navigate(path: string) {
  history.pushState(null, '', path);
  route();
}

function route() {
  if (refresh) clearInterval(refresh);
  refresh = null;
  if (!token()) return signIn();
  const m = location.pathname.match(/^\/ops\/([^/]+)$/);
  if (m) opView(decodeURIComponent(m[1]!));
  else listView();
}

document.addEventListener('click', (e) => {
  const a = (e.target as HTMLElement).closest('a');
  if (a && a.origin === location.origin && !a.target) {
    e.preventDefault();
    navigate(a.pathname + a.search);
  }
});
window.addEventListener('popstate', route);
route();
