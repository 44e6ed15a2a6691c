/**
 * The copy dialog: source path(s), destination projects (search by title, or paste ids), the path in
 * each, `error_on_exist` / `force`; then one parent bar that fills as destinations finish and every
 * destination listed with its state (waiting for its host, done, failed with its error).
 */
import { api } from '../api.js';
import { $, dialogButtons, html, plural, say } from '../dom.js';
import type { ListedProject } from '../../client/client.js';
import { projectScope, startOp } from '../views/live.js';
import type { Project } from '../views/project.js';
import type { Operation } from '../../shared/operation.js';
import { isTerminal } from '../../shared/status.js';
import { openDialog } from './dialog.js';

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const BADGE: Record<string, string> = { done: 's-succeeded', failed: 's-failed', pending: 's-queued' };
const WAITS = 'pending: its host is off; copied when it starts';
type Dest = Pick<ListedProject, 'project_id' | 'title' | 'host_status'>;

/** A destination's state: its word (the badge's colour) and what it says. */
function destState(d: Dest, child: Operation | undefined, result: { status: string; error?: string } | undefined): [string, string] {
  if (child?.status === 'failed') return ['failed', `failed: ${child.error?.message ?? 'no reason given'}`];
  if (result?.error) return ['failed', `failed: ${result.error}`];
  if (result) return result.status === 'pending' ? ['pending', WAITS] : [result.status, result.status];
  if (child)
    return child.status === 'succeeded' ? ['done', 'done'] : child.status === 'running' ? ['copying', 'copying'] : ['queued', 'queued'];
  return d.host_status === 'running' ? ['waiting', 'waiting for the snapshot'] : ['pending', WAITS];
}

export function copyDialog(p: Project): void {
  const picked = new Map<string, Dest>();
  const dialog = openDialog(
    `Copy from “${p.title}”`,
    html`<form method="dialog" id="copy-form">
      <label for="copy-paths">Source path(s) in this project, one per line</label><br />
      <textarea id="copy-paths" name="paths" rows="2" cols="40" required>project/</textarea>
      <fieldset>
        <legend>Destination projects</legend>
        <label for="copy-search">Search by title</label> <input id="copy-search" type="search" autocomplete="off" />
        <ul id="copy-found" aria-label="search results"></ul>
        <label for="copy-ids">…or paste project ids</label><br /><textarea id="copy-ids" rows="2" cols="40"></textarea>
        <button type="button" id="copy-add-ids">Add pasted ids</button>
        <div class="picked" id="copy-picked" aria-live="polite" aria-label="chosen destinations"></div>
      </fieldset>
      <label for="copy-dest">Path in each destination</label> <input id="copy-dest" name="dest" value="project/" required />
      <fieldset>
        <legend>When it exists there</legend>
        <label><input type="checkbox" name="error_on_exist" /> refuse (error_on_exist)</label>
        <label><input type="checkbox" name="force" /> overwrite (force)</label>
      </fieldset>
      <p id="copy-error" role="alert"></p>
      ${dialogButtons('copy', 'Copy')}
      <div id="copy-progress"></div>
      <ul id="copy-dests" aria-label="destinations"></ul>
    </form>`,
    'copy',
  );
  const error = $(dialog, '#copy-error');
  const drawPicked = () => {
    $(dialog, '#copy-picked').innerHTML = [...picked.values()]
      .map(
        (d) =>
          html`<span class="badge"
            >${d.title}<button type="button" data-unpick="${d.project_id}" aria-label="remove ${d.title}">×</button></span
          >`.text,
      )
      .join('');
  };
  const add = (found: Dest[]) => {
    for (const d of found) picked.set(d.project_id, d);
    drawPicked();
  };
  let searching = 0;
  $(dialog, '#copy-search').addEventListener('input', async (e) => {
    const q = (e.target as HTMLInputElement).value.trim();
    const mine = ++searching;
    const found = q ? (await api<{ projects: Dest[] }>('GET', `/v1/projects?limit=20&q=${encodeURIComponent(q)}`)).projects : [];
    if (mine !== searching) return;
    $(dialog, '#copy-found').innerHTML = found
      .map((d) => html`<li>${d.title} <button type="button" data-pick="${d.project_id}" aria-label="add ${d.title}">Add</button></li>`.text)
      .join('');
    ($(dialog, '#copy-found') as HTMLElement & { found?: Dest[] }).found = found;
  });
  dialog.addEventListener('click', async (e) => {
    const t = e.target as HTMLElement;
    if (t.dataset.pick)
      add((($(dialog, '#copy-found') as HTMLElement & { found?: Dest[] }).found ?? []).filter((d) => d.project_id === t.dataset.pick));
    if (t.dataset.unpick) {
      picked.delete(t.dataset.unpick);
      drawPicked();
    }
    if (t.id === 'copy-add-ids') {
      const ids = [...new Set($<HTMLTextAreaElement>(dialog, '#copy-ids').value.match(UUID) ?? [])].map((s) => s.toLowerCase());
      if (!ids.length) return say(error, 'paste one or more project ids');
      const { projects } = await api<{ projects: Dest[] }>('GET', `/v1/projects?ids=${ids.join(',')}`);
      const missing = ids.filter((id) => !projects.some((x) => x.project_id === id));
      add(projects);
      say(error, missing.length ? `not found or not yours: ${missing.join(', ')}` : '', missing.length ? 'error' : 'info');
    }
  });
  const form = $<HTMLFormElement>(dialog, 'form');
  form.addEventListener('submit', async (e) => {
    if ((e.submitter as HTMLButtonElement | null)?.value !== 'copy') return;
    e.preventDefault();
    const data = new FormData(form);
    const paths = String(data.get('paths'))
      .split('\n')
      .map((s) => s.trim())
      .filter(Boolean);
    if (!picked.size) return say(error, 'choose at least one destination project');
    const dest = String(data.get('dest')).trim();
    const input = {
      paths,
      dests: [...picked.keys()].map((project_id) => ({ project_id, path: dest })),
      options: { error_on_exist: data.get('error_on_exist') === 'on', force: data.get('force') === 'on' },
    };
    const label = `copy to ${plural(picked.size, 'project')}`; // one bar, here; the page shows it once this closes
    const made = await startOp(projectScope(p), 'project-copy', input, $(dialog, '#copy-progress'), error, label);
    if (!made) return;
    $<HTMLButtonElement>(dialog, '#copy-go').disabled = true;
    followDests(dialog, made.op_id, [...picked.values()]);
  });
}

/** Each destination's state, from the copy's child ops and, once it ended, its result; every 1.5 s until done. */
function followDests(dialog: HTMLDialogElement, opId: string, dests: Dest[]): void {
  const draw = async () => {
    const [op, { ops }] = await Promise.all([
      api<Operation>('GET', `/v1/ops/${opId}`),
      api<{ ops: Operation[] }>('GET', `/v1/ops?parent_id=${opId}&limit=500`),
    ]);
    const children = new Map(ops.filter((o) => o.kind !== 'project-copy-snapshot').map((o) => [o.scope_id, o]));
    const results = new Map(
      ((op.result as { dests?: { project_id: string; status: string; error?: string }[] } | null)?.dests ?? []).map((d) => [
        d.project_id,
        d,
      ]),
    );
    $(dialog, '#copy-dests').innerHTML = dests
      .map((d) => {
        const [word, state] = destState(d, children.get(d.project_id), results.get(d.project_id));
        return html`<li data-dest="${d.project_id}">
          <a href="/projects/${d.project_id}">${d.title}</a>
          <span class="badge ${BADGE[word] ?? 's-running'}">${state}</span>
        </li>`.text;
      })
      .join('');
    return isTerminal(op.status);
  };
  const timer = setInterval(() => {
    if (!dialog.isConnected) return clearInterval(timer);
    void draw().then(
      (ended) => ended && clearInterval(timer),
      () => undefined,
    );
  }, 1500);
  void draw();
}
