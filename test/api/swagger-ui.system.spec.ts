import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import puppeteer, { type Browser, type ElementHandle, type Page } from 'puppeteer-core';

// The callbacks below run in the page; the project compiles without the DOM library, so they reach
// the page's globals through `globalThis` and handle elements as puppeteer's untyped handles.
type Handle = ElementHandle<any>;
interface PageElement {
  querySelector(selector: string): PageElement | null;
  getAttribute(name: string): string | null;
  textContent: string | null;
}

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startApp, type TestApp } from '../support/app.js';

/**
 * Swagger UI as a person uses it, in a real browser (Debian's chromium driven by puppeteer-core):
 * open /docs, Authorize with the admin token, execute the prefilled Publisher create, read the answer.
 */
const CHROMIUM = process.env.KEYWARD_CHROMIUM ?? '/usr/bin/chromium';
const OUTPUT_DIR = resolve(import.meta.dirname, '../../test-output');
const available = existsSync(CHROMIUM);
// In CI a missing browser is a failure (.ci/run installs it), not a skip.
const skip = !available && !process.env.CI;
const title = skip
  ? `Swagger UI in a real browser (skipped: ${CHROMIUM} is not installed; apt-get install -y chromium)`
  : 'Swagger UI in a real browser';

describe.skipIf(skip)(title, () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  let profile: string;

  beforeAll(async () => {
    t = await startApp();
    profile = mkdtempSync(join(tmpdir(), 'keyward-chromium-'));
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--user-data-dir=${profile}`,
      ],
    });
    page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 2000 });
    page.setDefaultTimeout(45_000);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await t?.close();
  });

  /** The operation block whose path is exactly `path`. */
  async function operation(path: string): Promise<Handle> {
    const handle = await page.waitForFunction(
      (p: string) =>
        [
          ...(
            globalThis as unknown as { document: { querySelectorAll(s: string): Iterable<PageElement> } }
          ).document.querySelectorAll('.opblock'),
        ].find((el) => el.querySelector('.opblock-summary-path')?.getAttribute('data-path') === p),
      {},
      path,
    );
    return handle as Handle;
  }

  it('authorizes with the admin token and executes the prefilled Publisher create: 200 and a token', async () => {
    await page.goto(`${t.url}/docs`, { waitUntil: 'networkidle0' });
    await page.waitForSelector('.swagger-ui .opblock');
    const paths = await page.$$eval('.opblock-summary-path', (els) => els.map((e) => e.getAttribute('data-path')));
    expect(paths).toContain('/publisher.v1/api-token/create');
    expect(paths).not.toContain('/api-token/create'); // the alias is not listed twice

    // Authorize: the bearer scheme's field, its Authorize button, then close the dialog.
    await page.click('.auth-wrapper .authorize');
    const bearer = (await page.waitForFunction(() =>
      [
        ...(
          globalThis as unknown as { document: { querySelectorAll(s: string): Iterable<PageElement> } }
        ).document.querySelectorAll('.modal-ux .auth-container'),
      ].find((el) => el.querySelector('h4')?.textContent?.includes('bearer')),
    )) as Handle;
    const input = await bearer.$('input');
    await input!.type(ADMIN_TOKEN);
    await (await bearer.$('button.authorize'))!.click();
    await page.click('.modal-ux button.btn-done');

    // Open create, execute its prefilled example as it is.
    const create = await operation('/publisher.v1/api-token/create');
    await (await create.$('.opblock-summary-control, .opblock-summary'))!.click();
    const tryOut = await create.$('.try-out__btn');
    if (tryOut && (await tryOut.evaluate((b) => b.textContent?.trim())) === 'Try it out') await tryOut.click();
    const execute = await create.waitForSelector('button.execute');
    await execute!.click();

    const status = await create.waitForSelector('.live-responses-table .response .response-col_status');
    const code = (await status!.evaluate((el) => el.textContent ?? '')).trim();
    const body = await create.$eval(
      '.live-responses-table .response-col_description pre',
      (el) => el.textContent ?? '',
    );
    mkdirSync(OUTPUT_DIR, { recursive: true });
    await page.screenshot({ path: join(OUTPUT_DIR, 'swagger-ui-create.png'), fullPage: false });

    expect(code).toBe('200');
    const answer = JSON.parse(body) as { token: string; access: string; id: string };
    expect(answer.token).toMatch(/^kw_[A-Za-z0-9]{65}$/);
    expect(answer.access).toBe('write');
    // The token it shows works.
    const check = await fetch(`${t.url}/publisher.v1/api-token/list`, {
      method: 'POST',
      headers: { authorization: `Bearer ${answer.token}` },
    });
    expect(check.status).toBe(200);
  }, 120_000);
});
