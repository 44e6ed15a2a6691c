/** Projects: the caller's, searched by title, each with its host and backup status. */
import { api } from '../api.js';
import { $, dataTable, backupBadge, html, relTime, say } from '../dom.js';
import type { View } from '../nav.js';
import type { ListedProject } from '../../client/client.js';

export const hostBadge = (status: string | null) =>
  status
    ? html`<span class="badge h-${status}">${status === 'running' ? 'online' : status}</span>`
    : html`<span class="muted">no host</span>`;

export const projectsList: View = (main) => {
  main.innerHTML = html`<h1>Projects</h1>
    <form class="filters" role="search">
      <label for="q">title</label>
      <input id="q" name="q" type="search" value="${new URLSearchParams(location.search).get('q') ?? ''}" /><button>Search</button>
    </form>
    ${dataTable(['project', 'host', 'backup', 'last edited'], html``)}
    <p role="alert" id="error"></p>`.text;
  const load = async () => {
    const q = $<HTMLInputElement>(main, '#q').value.trim();
    try {
      const { projects } = await api<{ projects: ListedProject[] }>(
        'GET',
        `/v1/projects?limit=200${q ? `&q=${encodeURIComponent(q)}` : ''}`,
      );
      $(main, 'tbody').innerHTML = projects.length
        ? projects
            .map(
              (p) =>
                html`<tr>
                  <td data-label="project"><a href="/projects/${p.project_id}">${p.title}</a></td>
                  <td data-label="host">${p.host_name ?? ''} ${hostBadge(p.host_status)}</td>
                  <td data-label="backup">${backupBadge(p.backup_state)}</td>
                  <td data-label="last edited">${relTime(p.last_edited)}</td>
                </tr>`.text,
            )
            .join('')
        : html`<tr>
            <td colspan="4" class="muted">no projects${q ? ` match “${q}”` : ''}</td>
          </tr>`.text;
    } catch (err) {
      say($(main, '#error'), (err as Error).message);
    }
  };
  $(main, 'form').addEventListener('submit', (e) => {
    e.preventDefault();
    history.replaceState(null, '', `/projects?q=${encodeURIComponent($<HTMLInputElement>(main, '#q').value)}`);
    void load();
  });
  void load();
};
