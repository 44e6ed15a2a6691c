/**
 * The backup browser: a project's snapshots; open one to browse its tree. Folders load on expand and
 * the next level is prefetched, so a click on a folder shows it at once; where it is not yet there a
 * loading state says so. Any file or folder can be restored into the project, in place or into a
 * chosen folder.
 */
import { api } from '../api.js';
import { $, dataTable, html, relTime, say } from '../dom.js';
import { openDialog } from '../dialogs/dialog.js';
import { formatBytes } from '../../shared/progress.js';
import { startOp } from './live.js';

interface Backup {
  snapshot_id: string;
  created_at: string;
  bytes: number | null;
  tags: string[];
}
interface Entry {
  name: string;
  type: string;
  path: string;
  size: number | null;
}

/** One snapshot's folders, each listed once: a promise per path, shared by a prefetch and a click. */
class Tree {
  readonly #folders = new Map<string, Promise<Entry[]>>();
  constructor(
    readonly projectId: string,
    readonly snapshotId: string,
  ) {}

  folder(path: string): Promise<Entry[]> {
    let got = this.#folders.get(path);
    if (!got) {
      const q = new URLSearchParams({ path });
      got = api<{ entries: Entry[] }>('GET', `/v1/projects/${this.projectId}/backups/${this.snapshotId}/tree?${q}`).then((r) => r.entries);
      got.catch(() => this.#folders.delete(path)); // a failed read is tried again on the next expand
      this.#folders.set(path, got);
    }
    return got;
  }

  /** Whether a folder's listing is already here (then an expand draws without a loading state). */
  has(path: string): boolean {
    return this.#folders.has(path);
  }

  /** Loads the folders among `entries`, so expanding one needs no wait. */
  prefetch(entries: Entry[]): void {
    for (const e of entries.filter((x) => x.type === 'dir').slice(0, 50)) void this.folder(e.path).catch(() => undefined);
  }
}

function entryItem(e: Entry): string {
  const restore = html`<span class="row-actions"><button data-restore="${e.path}" aria-label="restore ${e.path}">restore</button></span>`;
  if (e.type === 'dir') {
    return html`<li data-path="${e.path}">
      <button class="folder" aria-expanded="false" data-folder="${e.path}">▸ ${e.name}/</button> ${restore}
    </li>`.text;
  }
  return html`<li>${e.name} <span class="muted">${e.size === null ? '' : formatBytes(e.size)}</span> ${restore}</li>`.text;
}

async function expand(tree: Tree, button: HTMLButtonElement) {
  const li = button.closest('li')!;
  const open = button.getAttribute('aria-expanded') === 'true';
  const path = button.dataset.folder!;
  const name = path.split('/').pop();
  if (open) {
    button.setAttribute('aria-expanded', 'false');
    button.textContent = `▸ ${name}/`;
    li.querySelector(':scope > ul')?.remove();
    return;
  }
  button.setAttribute('aria-expanded', 'true');
  button.textContent = `▾ ${name}/`;
  const ul = document.createElement('ul');
  li.append(ul);
  if (!tree.has(path)) ul.innerHTML = '<li class="loading" role="status">loading…</li>';
  try {
    const entries = await tree.folder(path);
    ul.innerHTML = entries.length ? entries.map(entryItem).join('') : '<li class="muted">empty folder</li>';
    tree.prefetch(entries);
  } catch (err) {
    ul.innerHTML = '<li class="error" role="alert"></li>';
    ul.firstElementChild!.textContent = (err as Error).message;
  }
}

function restoreDialog(projectId: string, snapshot: Backup, path: string, live: HTMLElement, errorEl: HTMLElement) {
  const dialog = openDialog(
    `Restore ${path}`,
    html`<form method="dialog" id="restore-form">
      <p>From the backup of ${new Date(snapshot.created_at).toLocaleString()} (<code>${snapshot.snapshot_id.slice(0, 8)}</code>).</p>
      <fieldset>
        <legend>Where to</legend>
        <label><input type="radio" name="where" value="inplace" checked /> into the project, where it was (overwrites it)</label><br />
        <label><input type="radio" name="where" value="folder" /> into a folder of the project:</label>
        <input name="target" aria-label="folder to restore into" placeholder="project/restored" value="project/restored" />
      </fieldset>
      <p class="actions"><button value="ok" class="primary">Restore</button><button value="cancel" formnovalidate>Cancel</button></p>
    </form>`,
    'restore',
  );
  dialog.addEventListener('close', () => {
    if (dialog.returnValue !== 'ok') return;
    const data = new FormData($<HTMLFormElement>(dialog, 'form'));
    const target = data.get('where') === 'folder' ? String(data.get('target')).trim() : undefined;
    void startOp(
      { type: 'project', id: projectId },
      'project-restore',
      { snapshot_id: snapshot.snapshot_id, path, ...(target ? { target } : {}) },
      live,
      errorEl,
    );
  });
}

/** The backups section of a project's page; returns what lists the snapshots again (after a backup), keeping an open tree. */
export function backupBrowser(el: HTMLElement, projectId: string, live: HTMLElement, errorEl: HTMLElement): () => void {
  el.innerHTML = '<div id="backup-list"><p class="muted" role="status">loading backups…</p></div><div id="tree"></div>';
  const list = $(el, '#backup-list');
  let backups: Backup[] = [];
  let tree: Tree | null = null;
  const open = async (snapshotId: string) => {
    tree = new Tree(projectId, snapshotId);
    const panel = $(el, '#tree');
    panel.innerHTML = html`<h3>Backup ${snapshotId.slice(0, 8)}</h3>
      <div class="tree" aria-label="files in backup ${snapshotId.slice(0, 8)}">
        <ul>
          <li class="loading" role="status">loading…</li>
        </ul>
      </div>`.text;
    try {
      const entries = await tree.folder('');
      $(panel, '.tree > ul').innerHTML = entries.map(entryItem).join('');
      tree.prefetch(entries);
    } catch (err) {
      say($(panel, '.tree > ul'), (err as Error).message);
    }
  };
  el.addEventListener('click', (e) => {
    const t = e.target as HTMLElement;
    if (t.dataset.open) void open(t.dataset.open);
    else if (t.dataset.folder && tree) void expand(tree, t as HTMLButtonElement);
    else if (t.dataset.restore !== undefined && tree) {
      const snapshot = backups.find((b) => b.snapshot_id === tree!.snapshotId)!;
      restoreDialog(projectId, snapshot, t.dataset.restore, live, errorEl);
    }
  });
  const load = () =>
    api<{ backups: Backup[] }>('GET', `/v1/projects/${projectId}/backups`)
      .then((r) => {
        backups = r.backups;
        list.innerHTML = backups.length
          ? html`${dataTable(
              ['taken', 'size', 'id', ''],
              html`${backups.map(
                (b) =>
                  html`<tr>
                    <td data-label="taken">${relTime(b.created_at)}</td>
                    <td data-label="size">${b.bytes === null ? '' : formatBytes(b.bytes)}</td>
                    <td data-label="id"><code>${b.snapshot_id.slice(0, 8)}</code></td>
                    <td><button data-open="${b.snapshot_id}">Browse</button></td>
                  </tr>`,
              )}`,
            )}`.text
          : '<p class="muted">no backups yet</p>';
      })
      .catch((err: Error) => say(list, err.message));
  void load();
  return () => void load();
}
