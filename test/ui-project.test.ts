import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Access } from '../src/domain/access.js';
import { HostStore } from '../src/domain/hosts.js';
import { keepScreenshot, openPage, overflowsX, unnamedControls, useBrowser } from './helpers/browser.js';
import { startHub } from './helpers/hub.js';
import { openBackupLro, projectDir, writeProjectFiles } from './helpers/projects.js';

// The project page in Debian's Chromium against a real hub, hosts, restic: its facts, its actions'
// bars, the backup browser (folders on expand, the next level prefetched, restore into a folder),
// the move dialog (other regions disabled with why; the move's bars), the ops list, sign-in, 360 px.
const b = await openBackupLro();
const { lro } = b;
await lro.workerPool({ routing: ['hub'], ownerType: 'hub' }).start();
const { base } = await startHub(lro);
const token = await new Access({ db: lro.db }).issueToken(b.owner.account_id);
const h1 = await b.host('page-one');
const h2 = await b.host('page-two');
await h1.pool.start();
await h2.pool.start();
const far = await new HostStore({ db: lro.db }).create({ name: 'far-away', region: 'eu-central', admin_account_id: b.owner.account_id });
await lro.db.query('UPDATE hosts SET admin_account_id = $1', [b.owner.account_id]);
const { browser } = useBrowser();

async function project(title: string) {
  const p = await b.newProject(h1.host_id, title);
  writeProjectFiles(projectDir(h1.dataDir, p.project_id));
  expect(await b.run('project-start', p.project_id)).toMatchObject({ status: 'succeeded' });
  return p.project_id;
}
const backupState = (page: import('playwright-core').Page) => page.locator('dt:text-is("backup") + dd .badge');

describe('the project page', () => {
  it('shows its facts; Back up now draws a bar and turns the status to backed up; a stale one warns of data loss', async () => {
    const id = await project('Thesis');
    const page = await openPage(browser(), base, `/projects/${id}`, token);
    await expect.poll(() => page.locator('h1').textContent(), { timeout: 15_000 }).toBe('Thesis');
    expect(await page.locator('header .who').textContent()).toContain('signed in as owner');
    expect(await page.locator('dt:text-is("host") + dd').textContent()).toMatch(/page-one\s*online/);
    expect(await backupState(page).textContent()).toBe('never backed up');
    await page.getByRole('button', { name: 'Back up now' }).click();
    await page.locator('#live lro-progress').waitFor();
    await expect.poll(() => backupState(page).textContent(), { timeout: 60_000 }).toBe('backed up');
    await expect.poll(() => page.locator('#live lro-progress .status-text').first().textContent(), { timeout: 15_000 }).toBe('succeeded');
    expect(await page.locator('dt:text-is("backup region") + dd').textContent()).toContain('fixed: its backups are there');
    // Edited after the backup and stopped (its scan records the edit): stale, and said so.
    writeFileSync(path.join(projectDir(h1.dataDir, id), 'project', 'new.txt'), 'after the backup');
    await page.getByRole('button', { name: 'Stop' }).click();
    await expect.poll(() => backupState(page).textContent(), { timeout: 30_000 }).toBe('changed since its last backup');
    expect(await page.locator('.warning.danger').textContent()).toMatch(/if that host's disk is lost, they are lost/);
    await keepScreenshot(page, 'project-page');
    await page.close();
  });

  it('the backup browser: folders open on click, the next level already fetched; a file restored into a folder', async () => {
    const id = await project('Browse me');
    expect(await b.run('project-backup', id)).toMatchObject({ status: 'succeeded' });
    const page = await openPage(browser(), base, `/projects/${id}`, token);
    const prefetched = page.waitForResponse((r) => r.url().includes('/tree?path=project%2Fsrc'));
    await page.getByRole('button', { name: 'Browse' }).click();
    await page.locator('[data-folder="project"]').click();
    await prefetched; // opening project/ fetched project/src (the next level) before anyone asked
    // From here a click shows the folder at once: no loading state is ever drawn.
    await page.evaluate(() => {
      (window as unknown as { sawLoading: boolean }).sawLoading = false;
      new MutationObserver(() => {
        if (document.querySelector('.tree .loading')) (window as unknown as { sawLoading: boolean }).sawLoading = true;
      }).observe(document.body, { subtree: true, childList: true });
    });
    await page.locator('[data-folder="project/src"]').click();
    await page.locator('[data-folder="project/src/deep"]').waitFor();
    expect(await page.evaluate(() => (window as unknown as { sawLoading: boolean }).sawLoading)).toBe(false);
    expect(await page.locator('[data-folder="project/src"]').getAttribute('aria-expanded')).toBe('true');
    await page.getByRole('button', { name: 'restore project/run.sh' }).click();
    await page.getByLabel('into a folder of the project:').check();
    await page.getByLabel('folder to restore into').fill('project/restored');
    await page.locator('#restore').getByRole('button', { name: 'Restore' }).click();
    await expect.poll(() => page.locator('#live lro-progress .status-text').first().textContent(), { timeout: 60_000 }).toBe('succeeded');
    const restored = path.join(projectDir(h1.dataDir, id), 'project', 'restored', 'run.sh');
    expect(existsSync(restored) ? readFileSync(restored, 'utf8') : 'missing').toBe('#!/bin/sh\necho hi\n');
    await keepScreenshot(page, 'backup-browser');
    await page.close();
  });

  it('the move dialog: another region disabled with why, the warnings, then the move through stop → backup → place → start', async () => {
    const id = await project('Move me');
    const page = await openPage(browser(), base, `/projects/${id}`, token);
    // Keyboard only: Tab reaches every action, Enter opens the dialog, Escape closes it.
    await page.getByRole('button', { name: 'Back up now' }).waitFor();
    const reached: string[] = [];
    for (let i = 0; i < 40 && !reached.includes('Move…'); i++) {
      await page.keyboard.press('Tab');
      reached.push(await page.evaluate(() => document.activeElement?.textContent?.trim() ?? ''));
    }
    expect(reached).toEqual(expect.arrayContaining(['Back up now', 'Restore…', 'Stop', 'Move…'])); // Start: it runs already
    expect(await page.getByRole('button', { name: 'Start' }).isDisabled()).toBe(true);
    await page.keyboard.press('Enter');
    await page.locator('dialog#move').waitFor();
    await page.keyboard.press('Escape');
    await page.locator('dialog#move').waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Move…' }).click();
    const dialog = page.locator('dialog#move');
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('The files move through the backup; nothing else does.');
    expect(await dialog.getByLabel(/far-away/).isDisabled()).toBe(true);
    expect(await dialog.locator(`div:has(input[value="${far.host_id}"]) [data-why]`).textContent()).toMatch(
      /in region eu-central: a move stays in the project's backup region \(local\)/,
    );
    expect(await dialog.getByLabel(/page-one/).isDisabled()).toBe(true); // where it is now
    expect(await page.evaluate(() => document.activeElement?.closest('dialog')?.id)).toBe('move'); // focus moved in
    await dialog.getByLabel(/page-two/).check();
    await dialog.getByRole('button', { name: 'Move', exact: true }).click();
    const bars = dialog.locator('lro-progress');
    await expect.poll(() => bars.locator('.status-text').textContent(), { timeout: 120_000 }).toBe('succeeded');
    const phases = await bars.locator('.row:not(.overall) .name').allTextContents();
    expect(phases).toEqual(expect.arrayContaining(['stop', 'backup', 'place', 'start']));
    await expect.poll(() => dialog.getByRole('status').textContent(), { timeout: 15_000 }).toBe('Moved to host page-two.');
    await keepScreenshot(page, 'move-dialog');
    expect(await b.projects.get(id)).toMatchObject({ host_id: h2.host_id, run_state: 'running' });
    await page.close();
  });
});

describe('the ops list and signing in', () => {
  it('status in words, project titles, filters as selects; readable at 360 px', async () => {
    const page = await openPage(browser(), base, '/', token, 360);
    await page.locator('tbody tr[data-op]').first().waitFor();
    expect(await page.locator('tbody td[data-label=scope]').first().textContent()).toMatch(/Thesis|Browse me|Move me/);
    expect(await page.locator('select[name=status] option').allTextContents()).toEqual(
      expect.arrayContaining(['any', 'running', 'failed']),
    );
    expect(await page.locator('select[name=kind] option').allTextContents()).toContain('project-move');
    await page.getByLabel('kind').selectOption('project-move');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => page.locator('tbody td[data-label=kind]').allTextContents(), { timeout: 15_000 }).toEqual(['project-move']);
    expect(await overflowsX(page)).toBe(false);
    await keepScreenshot(page, 'ops-list-360');
    // A page at a time: the link to older ops carries the filters on.
    await page.goto(`${base}/?limit=2&scope_type=project`);
    await page.getByRole('link', { name: 'older operations →' }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get('cursor'), { timeout: 15_000 }).toMatch(/\w/);
    expect(new URL(page.url()).searchParams.get('scope_type')).toBe('project');
    await expect.poll(() => page.locator('tbody tr[data-op]').count(), { timeout: 15_000 }).toBe(2);
    const projectPage = await openPage(browser(), base, '/projects', token, 360);
    await projectPage.locator('tbody a').first().click();
    await projectPage.locator('dt:text-is("host")').waitFor();
    await projectPage.getByRole('button', { name: 'Back up now' }).click(); // a live bar at 360 px too
    await projectPage.locator('#live lro-progress').waitFor();
    expect(await overflowsX(projectPage)).toBe(false);
    expect(await unnamedControls(projectPage)).toEqual([]);
    await keepScreenshot(projectPage, 'project-page-360');
    await Promise.all([page.close(), projectPage.close()]);
  });

  it('a bad token goes back to sign-in with the reason; signing in there works', async () => {
    const page = await openPage(browser(), base, '/', 'not-a-token');
    await expect
      .poll(() => page.locator('#signin-reason').textContent(), { timeout: 15_000 })
      .toMatch(/the hub refused your token \(unknown token\)/);
    await page.getByLabel('API token').fill(token);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('header .who').textContent(), { timeout: 15_000 }).toContain('owner');
    await page.close();
  });
});
