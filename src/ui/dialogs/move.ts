/**
 * The move dialog: destination hosts in the project's backup region (the others shown, disabled,
 * with why), what a move does not take along, the stale-backup warning when it applies, then the
 * move's bars through stop → backup → placement → start.
 */
import { api } from '../api.js';
import { $, dialogButtons, html, say } from '../dom.js';
import { projectScope, startOp } from '../views/live.js';
import type { Project } from '../views/project.js';
import { openDialog } from './dialog.js';

interface Host {
  host_id: string;
  name: string;
  region: string;
  status: string;
}

/** Why a host cannot take the project, or '' when it can. */
function refusal(h: Host, p: Project, region: string | null): string {
  if (h.host_id === p.host_id) return 'the project is here now';
  if (region !== null && h.region !== region) return `in region ${h.region}: a move stays in the project's backup region (${region})`;
  if (h.status !== 'running') return `the host is ${h.status}`;
  return '';
}

const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : 'never');

export async function moveDialog(p: Project, errorEl: HTMLElement): Promise<void> {
  let hosts: Host[];
  try {
    hosts = (await api<{ hosts: Host[] }>('GET', '/v1/hosts')).hosts;
  } catch (err) {
    return say(errorEl, (err as Error).message);
  }
  const region = p.backup_region ?? p.host?.region ?? null;
  const options = hosts.map((h) => ({ h, why: refusal(h, p, region) })).sort((a, b) => Number(a.why !== '') - Number(b.why !== ''));
  const stale = p.backup_state === 'stale';
  const hostOff = p.host !== null && p.host.status !== 'running';
  const dialog = openDialog(
    `Move “${p.title}”`,
    html`<form method="dialog" id="move-form">
      <p class="warning" role="note">
        <strong>The files move through the backup; nothing else does.</strong> The project's <code>project/</code> and
        <code>persist/</code> folders are restored on the new host from its backup history, which moves with it. Host-local state outside
        them (caches, installed software, running processes) stays on the old host.
      </p>
      ${
        hostOff
          ? html`<p class="warning${stale ? ' danger' : ''}" role="alert">
              Host ${p.host!.name} is ${p.host!.status}: the project moves from its last
              backup${stale ? html`, and <strong>that backup is stale</strong>: changes after ${when(p.last_backup)} are lost` : ''}.
            </p>`
          : ''
      }
      ${
        !hostOff && stale
          ? html`<p class="warning" role="note">Its last backup is older than its last change: the move backs it up first.</p>`
          : ''
      }
      <fieldset>
        <legend>Destination host${region ? ` in ${region}` : ''}</legend>
        ${
          options.length
            ? options.map(
                ({ h, why }) =>
                  html`<div>
                    <label
                      ><input type="radio" name="dest" value="${h.host_id}" ${why ? ' disabled' : ''} required /> ${h.name}
                      <span class="muted">(${h.region})</span></label
                    >${why ? html` <span class="muted" data-why>— ${why}</span>` : ''}
                  </div>`,
              )
            : html`<p>You administer no host: a move needs the destination host's admin.</p>`
        }
      </fieldset>
      <p id="move-error" role="alert"></p>
      ${dialogButtons('move', 'Move')}
      <div id="move-progress"></div>
    </form>`,
    'move',
  );
  const form = $<HTMLFormElement>(dialog, 'form');
  form.addEventListener('submit', async (e) => {
    if ((e.submitter as HTMLButtonElement | null)?.value !== 'move') return; // Close closes
    e.preventDefault();
    const dest = String(new FormData(form).get('dest') ?? '');
    if (!dest) return say($(dialog, '#move-error'), 'choose a destination host');
    // The move's bar is drawn here (the hub's warning is the one said above); the page shows it once this closes.
    const made = await startOp(
      projectScope(p),
      'project-move',
      { dest_host_id: dest },
      $(dialog, '#move-progress'),
      $(dialog, '#move-error'),
      'move',
    );
    if (!made) return;
    $<HTMLButtonElement>(dialog, '#move-go').disabled = true;
    // Once moved, the choices above are out of date (the project is on the new host): said instead.
    $(dialog, '#move-progress lro-progress').addEventListener('lro-update', (e) => {
      if ((e as CustomEvent<{ status: string }>).detail.status !== 'succeeded') return;
      const to = hosts.find((h) => h.host_id === dest)?.name ?? dest;
      const fieldset = dialog.querySelector('fieldset');
      if (fieldset) fieldset.outerHTML = html`<p class="info" role="status">Moved to host ${to}.</p>`.text;
    });
  });
}
