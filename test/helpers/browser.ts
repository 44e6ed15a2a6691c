import { mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { chromiumPath } from './binaries.js';

/** Debian's Chromium (never a downloaded one), headless, without the background traffic. */
export const launchChromium = () =>
  chromium.launch({
    executablePath: chromiumPath(),
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });

/** The browser for a test file: launched before its tests, closed after. */
export function useBrowser(): { browser: () => Browser } {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(() => browser?.close());
  return { browser: () => browser! };
}

/** A page of the hub at `path`, signed in with `token` (the URL fragment hands it over once). */
export async function openPage(browser: Browser, base: string, path: string, token: string, width = 1100): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  page.on('pageerror', (err) => console.error(`page error at ${path}: ${err.message}`));
  await page.goto(`${base}${path}#token=${token}`);
  return page;
}

/** A full-page screenshot under test-results/ (not committed), for a person to look at. */
export async function keepScreenshot(page: Page, name: string): Promise<void> {
  mkdirSync('test-results', { recursive: true });
  await page.screenshot({ path: `test-results/${name}.png`, fullPage: true });
}

/** Whether the page scrolls sideways (it should not, even at 360 px). */
export const overflowsX = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth);

/**
 * The controls (buttons, links, fields) a screen reader would announce without a name: no text, no
 * `aria-label`, no `<label>`. Each is described by its tag and outer HTML's start.
 */
export const unnamedControls = (page: Page) =>
  page.evaluate(() =>
    [...document.querySelectorAll('button, a[href], input:not([type=hidden]), select, textarea')]
      .filter((el) => {
        const labelled = el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || (el as HTMLInputElement).labels?.length;
        return !labelled && !(el.textContent ?? '').trim();
      })
      .map((el) => el.outerHTML.slice(0, 80)),
  );
