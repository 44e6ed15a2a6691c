/**
 * A host's page, for its admin: liveness, its projects with their backup status and the counts,
 * Turn off (backs every project up first: one rolled-up bar) and Force off (after a confirmation that
 * says what is skipped), and the host's ops.
 */
import { api } from '../api.js';
import { $, dataTable, backupBadge, failedSection, html, plural, relTime, say } from '../dom.js';
import { confirmDialog } from '../dialogs/dialog.js';
import type { View } from '../nav.js';
import { startOp } from './live.js';
import { OPS_TABLE, scopeOps } from './ops.js';
import { hostBadge } from './projects.js';

interface HostPage {
  host_id: string;
  name: string;
  region: string;
  status: string;
  last_seen: string | null;
  backup_counts: { none: number; fresh: number; stale: number };
  projects: { project_id: string; title: string; backup_state: string; last_edited: string | null; last_backup: string | null }[];
}

export const hostView: View = (main, hostId) => {
  main.innerHTML = html`<div id="host"><p class="muted">loading…</p></div>
    <div class="actions" id="actions" hidden>
      <button data-act="off" class="primary">Turn off…</button> <button data-act="force" class="danger">Force off…</button>
    </div>
    <p id="action-error" role="alert"></p>
    <div id="live"></div>
    <h2>Projects</h2>
    <div id="projects"></div>
    <h2>Operations</h2>
    ${OPS_TABLE}
    <p id="ops-error" role="alert"></p>`.text;
  const live = $(main, '#live');
  const errorEl = $(main, '#action-error');
  let host: HostPage | null = null;
  const draw = async () => {
    try {
      const h = (host = await api<HostPage>('GET', `/v1/hosts/${hostId}`));
      const c = h.backup_counts;
      $(main, '#host').innerHTML = html`<h1>Host ${h.name}</h1>
        <dl class="facts">
          <dt>status</dt>
          <dd>${hostBadge(h.status)}</dd>
          <dt>last seen</dt>
          <dd>${relTime(h.last_seen)}</dd>
          <dt>region</dt>
          <dd>${h.region}</dd>
          <dt>backups</dt>
          <dd>${c.fresh} backed up, ${c.stale} changed since their backup, ${c.none} never backed up</dd>
        </dl>`.text;
      $(main, '#actions').hidden = h.status !== 'running'; // an off host has nothing to turn off: it comes back when it runs again
      $(main, '#projects').innerHTML = h.projects.length
        ? html`${dataTable(
            ['project', 'backup', 'last edited', 'last backup'],
            html`${h.projects.map(
              (p) =>
                html`<tr>
                  <td data-label="project"><a href="/projects/${p.project_id}">${p.title}</a></td>
                  <td data-label="backup">${backupBadge(p.backup_state)}</td>
                  <td data-label="last edited">${relTime(p.last_edited)}</td>
                  <td data-label="last backup">${relTime(p.last_backup)}</td>
                </tr>`,
            )}`,
          )}`.text
        : '<p class="muted">no projects on this host</p>';
    } catch (err) {
      failedSection($(main, '#host'), 'Host', err);
    }
  };
  void draw();
  $(main, '#actions').addEventListener('click', async (e) => {
    const act = (e.target as HTMLElement).dataset.act;
    if (!act || !host) return;
    const c = host.backup_counts;
    const force = act === 'force';
    const ok = await confirmDialog(
      force ? `Force ${host.name} off?` : `Turn ${host.name} off?`,
      force
        ? html`<p>
            <strong>No backups are taken.</strong> ${plural(c.stale, 'project')} changed since their last backup and ${c.none} never backed
            up keep those changes only on this host's disk; moved or restored elsewhere, they start from their last backup.
          </p>`
        : html`<p>
            Every project on the host is backed up first (${plural(host.projects.length, 'project')}, one bar), then the host is marked off.
          </p>`,
      force ? 'Force off' : 'Turn off',
      force,
    );
    if (ok) await startOp({ type: 'host', id: hostId }, 'host-off', force ? { force: true } : {}, live, errorEl);
  });
  return scopeOps(main, { type: 'host', id: hostId }, live, draw);
};

/** `/hosts`: the hosts the caller administers (the admin: all), with their liveness. */
export const hostsList: View = (main) => {
  main.innerHTML = html`<h1>Hosts</h1>
    <div id="hosts"><p class="muted" role="status">loading…</p></div>`.text;
  void api<{ hosts: { host_id: string; name: string; region: string; status: string; last_seen: string | null }[] }>('GET', '/v1/hosts')
    .then(({ hosts }) => {
      $(main, '#hosts').innerHTML = hosts.length
        ? dataTable(
            ['host', 'status', 'region', 'last seen'],
            html`${hosts.map(
              (h) =>
                html`<tr>
                  <td data-label="host"><a href="/hosts/${h.host_id}">${h.name}</a></td>
                  <td data-label="status">${hostBadge(h.status)}</td>
                  <td data-label="region">${h.region}</td>
                  <td data-label="last seen">${relTime(h.last_seen)}</td>
                </tr>`,
            )}`,
          ).text
        : '<p class="muted">You administer no host.</p>';
    })
    .catch((err: Error) => say($(main, '#hosts'), err.message));
};
