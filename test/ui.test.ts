import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildHub } from '../src/api/app.js';
import { streamOf } from '../src/lro/streams/types.js';
import { launchChromium } from './helpers/browser.js';
import { ADMIN_TOKEN } from './helpers/hub.js';
import { testKinds } from './helpers/kinds.js';
import { openTestLro } from './helpers/lro.js';

/**
 * A phase that only speaks, then two announced at 0; the first stops at 3/10 (never completes) when the
 * second starts, then it waits for a cancel.
 */
const kinds = testKinds().register({
  name: 'relay',
  input: z.object({}),
  result: z.object({}),
  async run({ progress, signal }) {
    progress({ phase: 'check', message: 'looking around' });
    for (const phase of ['fetch', 'unpack']) progress({ phase, progress: { current: 0, total: 10, unit: 'files' } });
    for (const phase of ['fetch', 'unpack']) {
      for (let i = 1; i <= 3; i++) {
        await delay(300, undefined, { signal });
        progress({ phase, progress: { current: i, total: 10, unit: 'files' }, message: `${phase} ${i}` });
      }
    }
    return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
  },
});
const { lro } = await openTestLro({ kinds });
await lro.workerPool({ concurrency: 6, summaryIntervalS: 0.2, heartbeatS: 0.5 }).start();
let hub = buildHub({ lro, adminToken: ADMIN_TOKEN, logger: false });
await hub.listen({ host: '127.0.0.1', port: 0 });
const port = (hub.server.address() as AddressInfo).port;
const base = `http://127.0.0.1:${port}`;
afterAll(() => hub.close());

async function post(path: string, token: string, body: unknown) {
  const res = await fetch(base + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return res.json();
}
const owner = await post('/v1/accounts', ADMIN_TOKEN, { name: 'owner' });
const other = await post('/v1/accounts', ADMIN_TOKEN, { name: 'other' });
const project = await post('/v1/projects', owner.token, { title: 'ui' });
const createOp = (input: object) =>
  post('/v1/ops', owner.token, { kind: 'demo', scope: { type: 'project', id: project.project_id }, input });

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(() => browser?.close());
// The page's bundle is built at its first request: build it before a test races an op against it.
beforeAll(async () => {
  expect((await fetch(`${base}/assets/app.js`)).status).toBe(200);
});

async function openOp(opId: string, token = owner.token): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${base}/ops/${opId}#token=${token}`);
  return page;
}
const overall = (page: Page) => page.locator('lro-progress [role=progressbar][aria-label=overall]');
const statusText = (page: Page) => page.locator('lro-progress .status-text');
const valueOf = async (page: Page) => Number((await overall(page).getAttribute('aria-valuenow')) ?? -1);

describe('the op view in a real browser', () => {
  it("a demo op's bars advance phase by phase and end at 100, succeeded; a screenshot is kept", async () => {
    const op = await createOp({ steps: 10, step_ms: 100 });
    const page = await openOp(op.op_id);
    const seen: number[] = [];
    await expect
      .poll(
        async () => {
          if (await overall(page).count()) seen.push(await valueOf(page));
          return statusText(page).textContent();
        },
        { timeout: 20_000, interval: 100 },
      )
      .toBe('succeeded');
    seen.push(await valueOf(page));
    expect(seen.at(-1)).toBe(100);
    expect(seen.some((v) => v > 0 && v < 100)).toBe(true);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    const phases = page.locator('lro-progress [role=progressbar]:not([aria-label=overall])');
    expect(await phases.count()).toBe(3);
    for (const v of await phases.evaluateAll((els) => els.map((e) => e.getAttribute('aria-valuenow')))) expect(v).toBe('100');
    expect(await phases.first().getAttribute('aria-valuetext')).toMatch(/prepare: 100% · 10\/10 steps/);
    expect(new URL(page.url()).hash).toBe(''); // the token does not stay in the URL
    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/op-view.png', fullPage: true });
    await page.close();
  });

  it('a reload mid-op picks up where it was; a killed and restarted hub is reconnected to', async () => {
    const op = await createOp({ steps: 20, step_ms: 100 });
    const page = await openOp(op.op_id);
    await expect.poll(() => valueOf(page), { timeout: 15_000 }).toBeGreaterThan(10);
    const before = await valueOf(page);
    await page.reload();
    await expect.poll(() => valueOf(page), { timeout: 10_000 }).toBeGreaterThanOrEqual(before);
    await hub.close();
    await expect.poll(() => page.locator('lro-progress .conn').textContent(), { timeout: 10_000 }).toContain('connection lost');
    hub = buildHub({ lro, adminToken: ADMIN_TOKEN, logger: false });
    await hub.listen({ host: '127.0.0.1', port });
    await expect.poll(() => statusText(page).textContent(), { timeout: 20_000 }).toBe('succeeded');
    expect(await valueOf(page)).toBe(100);
    await page.close();
  });

  it('the message log is updated in place, follows its newest line, and keeps the place a person scrolled to', async () => {
    const op = await createOp({ steps: 50, step_ms: 80 }); // 150 lines, one a step, over ~12 s
    const page = await openOp(op.op_id);
    const log = page.locator('lro-progress ol[aria-label=messages]');
    const lines = () => log.locator('li').count();
    const geometry = () =>
      log.evaluate((ol) => {
        const last = ol.lastElementChild!.getBoundingClientRect();
        const box = ol.getBoundingClientRect();
        return {
          top: ol.scrollTop,
          fromBottom: ol.scrollHeight - ol.scrollTop - ol.clientHeight,
          lastInView: last.bottom <= box.bottom + 1 && last.top >= box.top,
        };
      });
    await expect.poll(lines, { timeout: 15_000 }).toBeGreaterThan(20); // more than the box shows
    expect(await geometry()).toMatchObject({ lastInView: true });
    expect(await log.locator('li').first().textContent()).toBe('prepare: step 1 of 50'); // oldest first
    // Nodes taken now must be the same nodes after more events: the view is changed, not rebuilt.
    const kept = await page.evaluateHandle(() => {
      const root = document.querySelector('lro-progress')!.shadowRoot!;
      return ['[role=progressbar][aria-label=work]', '[role=progressbar][aria-label=overall]', 'ol', 'ol li', '.status-text'].map(
        (sel) => [sel, root.querySelector(sel)] as const,
      );
    });
    await log.evaluate((ol) => {
      ol.scrollTop = 0;
    }); // a person scrolls up to read
    const before = await lines();
    await expect.poll(lines, { timeout: 15_000 }).toBeGreaterThan(before + 10);
    expect(await geometry()).toMatchObject({ top: 0, lastInView: false }); // new lines did not move it
    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/op-view-scrolled.png', fullPage: true });
    await log.evaluate((ol) => {
      ol.scrollTop = ol.scrollHeight;
    }); // and back to the bottom
    const after = await lines();
    await expect.poll(lines, { timeout: 15_000 }).toBeGreaterThan(after + 5);
    expect(await geometry()).toMatchObject({ lastInView: true }); // it follows again
    expect((await geometry()).fromBottom).toBeLessThanOrEqual(2);
    const same = await kept.evaluate((pairs) => {
      const root = document.querySelector('lro-progress')!.shadowRoot!;
      return pairs.map(([sel, node]) => `${sel}: ${node !== null && node.isConnected && root.querySelector(sel) === node}`);
    });
    expect(same).toEqual([
      '[role=progressbar][aria-label=work]: true',
      '[role=progressbar][aria-label=overall]: true',
      'ol: true',
      'ol li: true',
      '.status-text: true',
    ]);
    await page.close();
  });

  it('clicking cancel on a running op turns it canceled within a heartbeat; the 1 s tick touches only the elapsed time', async () => {
    const op = await createOp({ hang: true, steps: 5, step_ms: 10 });
    const page = await openOp(op.op_id);
    await expect.poll(() => statusText(page).textContent(), { timeout: 10_000 }).toBe('running');
    await page.locator('lro-progress ol li').waitFor({ timeout: 10_000 }); // its one step came; it hangs now, no more events
    // Everything that changes until the elapsed time next changes: that must be the only change.
    const changed = await page.evaluate(
      () =>
        new Promise<string[]>((resolve) => {
          const root = document.querySelector('lro-progress')!.shadowRoot!;
          const seen: string[] = [];
          const observer = new MutationObserver((records) => {
            for (const r of records) {
              const el = r.target.nodeType === Node.TEXT_NODE ? r.target.parentElement! : (r.target as Element);
              seen.push(`${r.type} in ${el.className}: ${r.target.textContent}`);
            }
            if (records.some((r) => /elapsed/.test(r.target.textContent ?? ''))) {
              observer.disconnect();
              resolve(seen);
            }
          });
          observer.observe(root, { subtree: true, childList: true, characterData: true, attributes: true });
        }),
    );
    expect(changed).toEqual([expect.stringMatching(/^characterData in text: {2}· elapsed \d+s$/)]);
    await page.getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => statusText(page).textContent(), { timeout: 2_000 }).toBe('canceled');
    await page.getByRole('button', { name: 'Retry' }).waitFor({ state: 'visible', timeout: 5_000 });
    await page.close();
  });

  it('a failed op shows its error and no ETA on the phase it died in; an op outside the token\'s scopes shows "not found"', async () => {
    const op = await createOp({ steps: 10, step_ms: 300, fail_at_step: 8, permanent: true });
    const page = await openOp(op.op_id);
    const prepare = page.locator('lro-progress [role=progressbar][aria-label=prepare]');
    await expect.poll(() => statusText(page).textContent(), { timeout: 10_000 }).toBe('failed');
    expect(await page.locator('lro-progress [role=alert]').textContent()).toBe('error: demo failure at step 8');
    expect(await prepare.getAttribute('aria-valuetext')).toMatch(/^prepare: 70% · 7\/10 steps · \d+\.\d\/s$/); // its speed, no ETA
    expect(await page.locator('lro-progress .bars').textContent()).not.toContain('eta');
    // Though its last progress event carried one (it was running then).
    const { events } = await lro.streams.backend.history(streamOf(await lro.store.get(op.op_id)), 1, 100);
    expect(events.filter((e) => e.type === 'progress').at(-1)).toMatchObject({
      phase: 'prepare',
      progress: { current: 7 },
      eta_s: expect.any(Number),
    });
    await page.close();
    const stranger = await openOp(op.op_id, other.token);
    await expect.poll(() => statusText(stranger).textContent(), { timeout: 10_000 }).toBe('not found');
    await stranger.close();
  });

  it('a phase a later one took over from shows no ETA (one that only spoke: done), the running one does; a canceled op none', async () => {
    const op = await post('/v1/ops', owner.token, { kind: 'relay', scope: { type: 'project', id: project.project_id }, input: {} });
    const page = await openOp(op.op_id);
    const text = (phase: string) => page.locator(`lro-progress [role=progressbar][aria-label=${phase}]`).getAttribute('aria-valuetext');
    await expect.poll(() => text('unpack'), { timeout: 10_000 }).toMatch(/^unpack: 30% · 3\/10 files · [\d.]+\/s · eta \d+s$/);
    expect(await text('fetch')).toMatch(/^fetch: 30% · 3\/10 files · [\d.]+\/s$/); // stopped at 30 %, but unpack took over
    expect(await text('check')).toBe('check: done'); // it only spoke, and later phases began: no empty 0 % bar
    // Though fetch's own last event carried one (it was running then).
    const { events } = await lro.streams.backend.history(streamOf(await lro.store.get(op.op_id)), 1, 100);
    expect(events.filter((e) => e.type === 'progress' && e.phase === 'fetch').at(-1)).toMatchObject({
      progress: { current: 3 },
      eta_s: expect.any(Number),
    });
    await post(`/v1/ops/${op.op_id}/cancel`, owner.token, {});
    await expect.poll(() => statusText(page).textContent(), { timeout: 10_000 }).toBe('canceled');
    expect(await page.locator('lro-progress .bars').textContent()).not.toContain('eta');
    await page.close();
  });

  it('the web component on a plain page of another origin shows the same progress', async () => {
    const op = await createOp({ steps: 5, step_ms: 50 });
    const plain = createServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(`<!doctype html><title>embed</title><p>My app</p>
        <script type="module" src="${base}/assets/lro-progress.js"></script>
        <lro-progress op-id="${op.op_id}" base-url="${base}" token="${owner.token}"></lro-progress>`);
    });
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${(plain.address() as AddressInfo).port}/`);
    await expect.poll(() => statusText(page).textContent(), { timeout: 15_000 }).toBe('succeeded');
    expect(await valueOf(page)).toBe(100);
    await page.close();
    plain.close();
  });

  it("the list shows the caller's ops, newest first, and links to their views", async () => {
    const op = await createOp({ steps: 1, step_ms: 1 });
    const page = await browser.newPage();
    await page.goto(`${base}/#token=${owner.token}`);
    await page.locator(`tr[data-op="${op.op_id}"]`).waitFor({ state: 'visible', timeout: 10_000 });
    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/ops-list.png', fullPage: true });
    await page.locator(`tr[data-op="${op.op_id}"] a[href="/ops/${op.op_id}"]`).click();
    await expect.poll(() => statusText(page).textContent(), { timeout: 10_000 }).toBe('succeeded');
    await page.close();
  });
});
