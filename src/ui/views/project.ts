/**
 * A project's page: its host, backup region and status (the data-loss warning when stale), times,
 * collaborators, actions with their own bars (back up, restore, start, stop, move, copy), its ops
 * with live bars for the running ones, pending copies, and the backup browser.
 */
import { api } from '../api.js';
import { $, backupBadge, failedSection, html, relTime, say, type Raw } from '../dom.js';
import { confirmDialog } from '../dialogs/dialog.js';
import { copyDialog } from '../dialogs/copy.js';
import { moveDialog } from '../dialogs/move.js';
import type { View } from '../nav.js';
import { backupBrowser } from './backups.js';
import { projectScope, startOp } from './live.js';
import { OPS_TABLE, scopeOps } from './ops.js';
import { hostBadge } from './projects.js';

export interface Project {
  project_id: string;
  title: string;
  host_id: string | null;
  host: { host_id: string; name: string; status: string; region: string } | null;
  backup_region: string | null;
  backup_state: 'none' | 'fresh' | 'stale';
  run_state: string;
  last_edited: string | null;
  last_backup: string | null;
  collaborators: { account_id: string; name: string }[];
}
interface Region {
  region: string;
  name: string;
  lat: number;
  lon: number;
}

const option = (value: string, label: string, selected: boolean) =>
  html`<option value="${value}" ${selected ? ' selected' : ''}>${label}</option>`;

async function regionField(p: Project, regions: Region[]): Promise<Raw> {
  const current = regions.find((r) => r.region === (p.backup_region ?? p.host?.region));
  const named = current ? `${current.name} (${current.region})` : (p.backup_region ?? 'none yet');
  if (p.backup_state !== 'none') return html`${named} <span class="muted">(fixed: its backups are there)</span>`;
  // Nearest first to where the project runs (its host's region), else by name.
  const here = regions.find((r) => r.region === p.host?.region);
  const sorted = here ? (await api<{ regions: Region[] }>('GET', `/v1/regions?lat=${here.lat}&lon=${here.lon}`)).regions : regions;
  return html`<form id="region-form" class="filters">
      <label for="region">backup region</label
      ><select id="region" name="backup_region">
        ${sorted.map((r) => option(r.region, `${r.name} (${r.region})`, r.region === current?.region))}</select
      ><button>Set</button>
    </form>
    <span class="muted">nearest first; it is fixed once the first backup is taken</span>`;
}

export const projectView: View = (main, projectId) => {
  main.innerHTML = html`<p><a href="/projects">← projects</a></p>
    <div id="project"><p class="muted">loading…</p></div>
    <div class="actions" id="actions" hidden>
      <button data-act="backup" class="primary">Back up now</button> <button data-act="restore">Restore…</button
      ><button data-act="start">Start</button><button data-act="stop">Stop</button> <button data-act="move">Move…</button
      ><button data-act="copy">Copy…</button>
    </div>
    <p id="action-error" role="alert"></p>
    <div id="live"></div>
    <h2>Operations</h2>
    ${OPS_TABLE}
    <p id="ops-error" role="alert"></p>
    <h2>Pending copies</h2>
    <div id="copies"></div>
    <h2>Backups</h2>
    <div id="backups"></div>`.text;
  const live = $(main, '#live');
  const errorEl = $(main, '#action-error');
  let project: Project | null = null;
  const regions = api<{ regions: Region[] }>('GET', '/v1/regions').then((r) => r.regions); // once per page: draw runs on every op change

  const draw = async () => {
    try {
      const p = await api<Project>('GET', `/v1/projects/${projectId}`);
      project = p;
      const region = await regionField(p, await regions);
      const stale = p.backup_state === 'stale';
      $(main, '#project').innerHTML = html`<h1>${p.title}</h1>
        ${
          stale
            ? html`<p class="warning danger" role="alert">
                <strong>Not backed up since its last change.</strong> Edits after ${new Date(p.last_backup!).toLocaleString()} exist only on
                host ${p.host?.name ?? '?'}: if that host's disk is lost, they are lost. Back up now to keep them.
              </p>`
            : ''
        }
        <dl class="facts">
          <dt>host</dt>
          <dd>${p.host ? html`<a href="/hosts/${p.host.host_id}">${p.host.name}</a> ${hostBadge(p.host.status)}` : 'none'}</dd>
          <dt>state</dt>
          <dd>${p.run_state}</dd>
          <dt>backup</dt>
          <dd>${backupBadge(p.backup_state)}</dd>
          <dt>backup region</dt>
          <dd>${region}</dd>
          <dt>last edited</dt>
          <dd>${relTime(p.last_edited)}</dd>
          <dt>last backup</dt>
          <dd>${relTime(p.last_backup)}</dd>
          <dt>collaborators</dt>
          <dd>${p.collaborators.map((c) => c.name).join(', ')}</dd>
        </dl>`.text;
      $(main, '#actions').hidden = false;
      // Start a running project or stop a stopped one: nothing to do, so not offered.
      $<HTMLButtonElement>(main, '[data-act=start]').disabled = p.run_state === 'running';
      $<HTMLButtonElement>(main, '[data-act=stop]').disabled = p.run_state !== 'running';
      main.querySelector('#region-form')?.addEventListener('submit', async (e) => {
        e.preventDefault();
        const backup_region = String(new FormData(e.target as HTMLFormElement).get('backup_region'));
        try {
          await api('PATCH', `/v1/projects/${projectId}`, { backup_region });
          await draw();
        } catch (err) {
          say(errorEl, (err as Error).message);
        }
      });
    } catch (err) {
      failedSection($(main, '#project'), 'Project', err);
    }
  };
  void draw();

  $(main, '#actions').addEventListener('click', async (e) => {
    const act = (e.target as HTMLElement).dataset.act;
    if (!act || !project) return;
    const p = project;
    if (act === 'move') return moveDialog(p, errorEl);
    if (act === 'copy') return copyDialog(p);
    if (act === 'restore') {
      const ok = await confirmDialog(
        'Restore the whole project?',
        html`<p>
          All files of <strong>${p.title}</strong> (its <code>project/</code> and <code>persist/</code> folders) become exactly as in its
          newest backup (${p.last_backup ? new Date(p.last_backup).toLocaleString() : 'none yet'}): files changed since are overwritten and
          <strong>files added since are removed</strong>. To restore one file or folder, or into another folder, open a backup below.
        </p>`,
        'Restore',
        true,
      );
      if (ok) await startOp(projectScope(p), 'project-restore', {}, live, errorEl);
      return;
    }
    await startOp(projectScope(p), `project-${act}`, {}, live, errorEl);
  });

  let relist = () => {};
  const stopOps = scopeOps(main, { type: 'project', id: projectId }, live, () => {
    void draw();
    relist(); // a backup or a move may have made a snapshot
  });
  const stopCopies = pendingCopies($(main, '#copies'), projectId);
  relist = backupBrowser($(main, '#backups'), projectId, live, errorEl);
  return () => {
    stopOps();
    stopCopies();
  };
};

interface PendingCopy {
  copy_id: string;
  src_project_id: string;
  src_path: string;
  dest_project_id: string;
  dest_path: string;
  status: string;
  expires_at: string;
  last_error: string | null;
}

/** The project's copies still waiting (to or from it), each cancellable; refreshed every 5 s. */
function pendingCopies(el: HTMLElement, projectId: string): () => void {
  const load = async () => {
    const { copies } = await api<{ copies: PendingCopy[] }>('GET', `/v1/projects/${projectId}/copies`).catch(() => ({ copies: [] }));
    el.innerHTML = copies.length
      ? html`<ul>
          ${copies.map(
            (c) =>
              html`<li>
                ${c.src_path} → ${c.dest_project_id === projectId ? 'here' : `project ${c.dest_project_id.slice(0, 8)}`}:${c.dest_path}
                <span class="muted">waits for its host; expires ${relTime(c.expires_at)}</span
                >${c.last_error ? html` <span class="error">${c.last_error}</span>` : ''}
                <button data-copy="${c.copy_id}" class="danger">Cancel</button>
              </li>`,
          )}
        </ul>`.text
      : '<p class="muted">none</p>';
  };
  el.addEventListener('click', async (e) => {
    const id = (e.target as HTMLElement).dataset.copy;
    if (!id) return;
    await api('POST', `/v1/copies/${id}/cancel`).catch(() => undefined);
    await load();
  });
  void load();
  const timer = setInterval(load, 5000);
  return () => clearInterval(timer);
}
