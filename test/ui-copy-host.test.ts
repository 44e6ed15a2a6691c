import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Access } from '../src/domain/access.js';
import { HostStore } from '../src/domain/hosts.js';
import { keepScreenshot, openPage, useBrowser } from './helpers/browser.js';
import { startHub } from './helpers/hub.js';
import { openBackupLro, projectDir, writeProjectFiles } from './helpers/projects.js';

// The copy dialog (to 20 projects, one of them on a host that is off) and the host page (counts,
// turn off with the rolled-up backups, force off after a confirmation) in Debian's Chromium.
const b = await openBackupLro();
const { lro } = b;
await lro.workerPool({ routing: ['hub'], ownerType: 'hub' }).start();
const { base } = await startHub(lro);
const token = await new Access({ db: lro.db }).issueToken(b.owner.account_id);
const hosts = new HostStore({ db: lro.db });
const { browser } = useBrowser();
const h1 = await b.host('copy-one');
const h2 = await b.host('copy-two');
const h3 = await b.host('copy-off');
await h1.pool.start();
await h2.pool.start();
await lro.db.query('UPDATE hosts SET admin_account_id = $1', [b.owner.account_id]);

async function startedProject(hostId: string, dataDir: string, title: string) {
  const p = await b.newProject(hostId, title);
  writeProjectFiles(projectDir(dataDir, p.project_id), 3);
  expect(await b.run('project-start', p.project_id)).toMatchObject({ status: 'succeeded' });
  return p.project_id;
}

describe('the copy dialog', () => {
  it('copies a folder to 20 projects (one on a host that is off): one bar, each destination with its state', async () => {
    const source = await startedProject(h1.host_id, h1.dataDir, 'Handout');
    const dests: { id: string; dir: string }[] = [];
    for (let i = 0; i < 19; i++) {
      const h = i % 2 ? h1 : h2;
      dests.push({ id: await startedProject(h.host_id, h.dataDir, `student ${i}`), dir: h.dataDir });
    }
    await h3.pool.start();
    const offline = { id: await startedProject(h3.host_id, h3.dataDir, 'student away'), dir: h3.dataDir };
    await h3.pool.stop();
    await hosts.setStatus(h3.host_id, 'off');
    const page = await openPage(browser(), base, `/projects/${source}`, token);
    await page.getByRole('button', { name: 'Copy…' }).click();
    const dialog = page.locator('dialog#copy');
    await dialog.getByLabel('Source path(s) in this project, one per line').fill('project/src');
    // One found by searching its title, the rest pasted as ids.
    await dialog.getByLabel('Search by title').fill('student away');
    await dialog.getByRole('button', { name: 'add student away' }).click();
    await dialog.getByLabel('…or paste project ids').fill(dests.map((d) => d.id).join('\n'));
    await dialog.getByRole('button', { name: 'Add pasted ids' }).click();
    await expect.poll(() => dialog.locator('#copy-picked .badge').count(), { timeout: 15_000 }).toBe(20);
    await dialog.getByLabel('Path in each destination').fill('project/handout');
    await dialog.getByRole('button', { name: 'Copy', exact: true }).click();
    const bar = dialog.locator('lro-progress');
    await expect.poll(() => bar.locator('.status-text').textContent(), { timeout: 120_000 }).toBe('succeeded');
    await expect.poll(() => dialog.locator('#copy-dests li').count(), { timeout: 15_000 }).toBe(20);
    const states = async () => (await dialog.locator('#copy-dests li .badge').allTextContents()).sort();
    await expect.poll(states, { timeout: 15_000 }).toEqual([...Array(19).fill('done'), 'pending: its host is off; copied when it starts']);
    expect(await bar.locator('[role=progressbar][aria-label=overall]').getAttribute('aria-valuenow')).toBe('100');
    await keepScreenshot(page, 'copy-dialog');
    const src = readFileSync(path.join(projectDir(h1.dataDir, source), 'project', 'src', 'f1.bin'));
    for (const d of dests) expect(readFileSync(path.join(projectDir(d.dir, d.id), 'project', 'handout', 'src', 'f1.bin'))).toEqual(src);
    // The offline destination's copy waits on its project's page, cancellable.
    const away = await openPage(browser(), base, `/projects/${offline.id}`, token);
    await expect
      .poll(() => away.locator('#copies li').textContent(), { timeout: 15_000 })
      .toMatch(/project\/src → here:project\/handout\s+waits for its host/);
    // Again to one of them with error_on_exist: it is there now, so that destination fails, with why.
    await page.reload();
    await page.getByRole('button', { name: 'Copy…' }).click();
    const again = page.locator('dialog#copy');
    await again.getByLabel('Source path(s) in this project, one per line').fill('project/src');
    await again.getByLabel('…or paste project ids').fill(dests[0]!.id);
    await again.getByRole('button', { name: 'Add pasted ids' }).click();
    await again.getByLabel('Path in each destination').fill('project/handout');
    await again.getByLabel('refuse (error_on_exist)').check();
    await again.getByRole('button', { name: 'Copy', exact: true }).click();
    await expect
      .poll(() => again.locator('#copy-dests li .badge').textContent(), { timeout: 60_000 })
      .toBe('failed: project/handout/src already exists in the project (error_on_exist)');
    await keepScreenshot(page, 'copy-dialog-failed');
    await Promise.all([page.close(), away.close()]);
  }, 240_000);
});

describe('the host page', () => {
  it('shows liveness, projects and counts; Turn off backs them up under one bar; Force off says what it skips', async () => {
    const host = await b.host('host-page');
    await host.pool.start();
    try {
      await lro.db.query('UPDATE hosts SET admin_account_id = $1 WHERE host_id = $2', [b.owner.account_id, host.host_id]);
      for (const title of ['alpha', 'beta', 'gamma']) await startedProject(host.host_id, host.dataDir, title);
      // Reached from the header's Hosts page, as a person would.
      const page = await openPage(browser(), base, '/projects', token);
      await page.getByRole('link', { name: 'Hosts' }).click();
      await page.getByRole('link', { name: 'host-page' }).click();
      await expect.poll(() => page.locator('h1').textContent(), { timeout: 15_000 }).toBe('Host host-page');
      expect(await page.locator('dt:text-is("status") + dd').textContent()).toBe('online');
      expect(await page.locator('dt:text-is("backups") + dd').textContent()).toBe(
        '0 backed up, 0 changed since their backup, 3 never backed up',
      );
      await page.getByRole('button', { name: 'Turn off…' }).click();
      expect(await page.locator('dialog#confirm').textContent()).toContain(
        'Every project on the host is backed up first (3 projects, one bar)',
      );
      await page.locator('dialog#confirm').getByRole('button', { name: 'Turn off' }).click();
      const bar = page.locator('#live lro-progress').first();
      await expect.poll(() => bar.locator('.status-text').textContent(), { timeout: 120_000 }).toBe('succeeded');
      await expect.poll(() => page.locator('dt:text-is("status") + dd').textContent(), { timeout: 15_000 }).toBe('off');
      expect(await page.locator('dt:text-is("backups") + dd').textContent()).toBe(
        '3 backed up, 0 changed since their backup, 0 never backed up',
      );
      await expect.poll(() => page.locator('.ops-table td[data-label=kind]').allTextContents(), { timeout: 15_000 }).toContain('host-off');
      await keepScreenshot(page, 'host-page');
      // Back on, one project never backed up: Force off names what it skips, and Cancel does nothing.
      await hosts.setStatus(host.host_id, 'running');
      await startedProject(host.host_id, host.dataDir, 'delta');
      await page.reload();
      await page.getByRole('button', { name: 'Force off…' }).click();
      const confirm = page.locator('dialog#confirm');
      expect((await confirm.textContent())!.replace(/\s+/g, ' ')).toMatch(
        /No backups are taken\. 0 projects changed since their last backup and 1 never backed up/,
      );
      await keepScreenshot(page, 'host-force-off');
      await confirm.getByRole('button', { name: 'Cancel' }).click();
      expect((await hosts.get(host.host_id)).status).toBe('running');
      await page.getByRole('button', { name: 'Force off…' }).click();
      await page.locator('dialog#confirm').getByRole('button', { name: 'Force off' }).click();
      await expect.poll(() => page.locator('dt:text-is("status") + dd').textContent(), { timeout: 30_000 }).toBe('off');
      expect(
        (await lro.db.query(`SELECT count(*)::int AS n FROM project_backups b JOIN projects p USING (project_id) WHERE p.title = 'delta'`))
          .rows[0].n,
      ).toBe(0);
      await page.close();
    } finally {
      await host.pool.stop();
    }
  }, 180_000);
});
