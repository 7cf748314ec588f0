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
import { COPY_BEFORE_EXECUTE } from '../../src/common/openapi/openapi.js';
import { ADMIN_TOKEN, useApp } from '../support/app.js';

/**
 * Swagger UI as a person uses it, in a real browser (Debian's chromium driven by puppeteer-core):
 * open /docs, Authorize with the admin token, execute every operation (its prefilled example, or with
 * the earlier answer its description names) and check each outcome.
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
  // The walk creates a webhook for the example's address: this instance delivers nothing.
  const t = useApp({ KEYWARD_WEBHOOK_POLL_INTERVAL: 'off' });
  let browser: Browser;
  let page: Page;
  let profile: string;

  beforeAll(async () => {
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
    page.setDefaultTimeout(30_000);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  /** The operation block of `method` on exactly `path`, opened and in "Try it out" mode. */
  async function openOperation(method: string, path: string): Promise<Handle> {
    console.log(`swagger-ui: opening ${method} ${path}`);
    const handle = (await page.waitForFunction(
      (m: string, p: string) =>
        [
          ...(
            globalThis as unknown as { document: { querySelectorAll(s: string): Iterable<PageElement> } }
          ).document.querySelectorAll(`.opblock.opblock-${m}`),
        ].find((el) => el.querySelector('.opblock-summary-path')?.getAttribute('data-path') === p),
      {},
      method.toLowerCase(),
      path,
    )) as Handle;
    const open = await handle.evaluate((el: { classList: { contains(c: string): boolean } }) =>
      el.classList.contains('is-open'),
    );
    if (!open) await (await handle.$('.opblock-summary-control, .opblock-summary'))!.click();
    const tryOut = await handle.waitForSelector('.try-out__btn');
    if ((await tryOut!.evaluate((b) => b.textContent?.trim())) === 'Try it out') await tryOut!.click();
    return handle;
  }

  /**
   * Replaces the text of a field as a person would: select all, then paste (one input event; typing
   * a JSON body key by key re-renders Swagger UI once per character).
   */
  async function retype(field: Handle, text: string): Promise<void> {
    await field.click();
    await page.keyboard.down('Control');
    await page.keyboard.press('KeyA');
    await page.keyboard.up('Control');
    await page.keyboard.press('Backspace');
    await page.keyboard.sendCharacter(text);
  }

  const executed: string[] = [];
  const filled: string[] = [];

  /**
   * Executes one operation in Swagger UI: its prefilled example as it is, or with the path parameters
   * and body fields a person copies from earlier answers. Returns the status and body shown.
   */
  async function execute(
    method: string,
    path: string,
    copy: {
      params?: Record<string, string>;
      /** Fields of a form body (`application/x-www-form-urlencoded`, shown one input per field). */
      fields?: Record<string, string>;
      body?: (prefilled: Record<string, unknown>) => unknown;
    } = {},
  ): Promise<{ status: number; body: any }> {
    const op = await openOperation(method, path);
    // Path parameters and form fields: one input each, in a row named after it.
    const inputs = [
      ...Object.entries(copy.params ?? {}).map(([name, value]) => [`tr[data-param-name="${name}"] input`, value]),
      ...Object.entries(copy.fields ?? {}).map(([name, value]) => [`tr[data-property-name="${name}"] input`, value]),
    ];
    for (const [selector, value] of inputs) await retype((await op.waitForSelector(selector)) as Handle, value);
    if (copy.body) {
      const textarea = (await op.waitForSelector('textarea.body-param__text')) as Handle;
      const prefilled = JSON.parse(await textarea.evaluate((el: { value: string }) => el.value)) as Record<
        string,
        unknown
      >;
      await retype(textarea, JSON.stringify(copy.body(prefilled)));
    }
    const key = `${method} ${path}`;
    executed.push(key);
    if (copy.params || copy.fields || copy.body) filled.push(key);
    // A second execution of the same operation: wait for the new answer, not the old one.
    const before = await op.$$eval('.live-responses-table .response-col_status', (els) => els.length);
    if (before) await (await op.$('button.btn-clear'))?.click();
    await (await op.waitForSelector('button.execute'))!.click();
    const status = await op.waitForSelector('.live-responses-table .response .response-col_status');
    const code = Number((await status!.evaluate((el) => el.textContent ?? '')).trim());
    const text = await op
      .$eval('.live-responses-table .response-col_description pre', (el) => el.textContent ?? '')
      .catch(() => '');
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      /* text (metrics) */
    }
    console.log(`swagger-ui: ${key}${key in COPY_BEFORE_EXECUTE ? ' (with an earlier answer)' : ''} → ${code}`);
    // Close it again, as a person moving on does: every open operation makes each render slower.
    await (await op.$('.opblock-summary-control, .opblock-summary'))!.click();
    return { status: code, body };
  }

  it('authorizes with the admin token and executes every operation: each succeeds as prefilled or with the answer its description names', async () => {
    await page.goto(`${t.url}/docs`, { waitUntil: 'networkidle0' });
    await page.waitForSelector('.swagger-ui .opblock');
    const listed = await page.$$eval('.opblock', (els) =>
      els.map(
        (e) =>
          `${(e.querySelector('.opblock-summary-method')?.textContent ?? '').trim()} ${e
            .querySelector('.opblock-summary-path')
            ?.getAttribute('data-path')}`,
      ),
    );
    expect(listed).toContain('POST /publisher.v1/api-token/create');
    expect(listed).not.toContain('POST /api-token/create'); // the alias is not listed twice

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

    // Public and operational routes, as prefilled.
    expect((await execute('GET', '/api/v1/public/ping')).status).toBe(200);
    expect((await execute('GET', '/health/live')).status).toBe(200);
    expect((await execute('GET', '/health/ready')).status).toBe(200);
    expect((await execute('GET', '/metrics')).status).toBe(200);
    expect((await execute('GET', '/v1/health')).status).toBe(200);
    expect((await execute('GET', '/v1/auth/check')).status).toBe(200);

    // Publisher-style: create as prefilled; its answer is what the others copy.
    const created = await execute('POST', '/publisher.v1/api-token/create');
    mkdirSync(OUTPUT_DIR, { recursive: true });
    await page.screenshot({ path: join(OUTPUT_DIR, 'swagger-ui-create.png'), fullPage: false });
    expect(created.status).toBe(200);
    expect(created.body.token).toMatch(/^kw_[A-Za-z0-9]{65}$/);
    expect(created.body.access).toBe('write');
    const id = created.body.id as string;
    const check = await fetch(`${t.url}/publisher.v1/api-token/list`, {
      method: 'POST',
      headers: { authorization: `Bearer ${created.body.token}` },
    });
    expect(check.status).toBe(200); // the token it shows works

    const list = await execute('POST', '/publisher.v1/api-token/list');
    expect(list.status).toBe(200);
    expect(list.body.data.map((x: { id: string }) => x.id)).toContain(id);
    expect((await execute('POST', '/auth/tokens')).status).toBe(201);

    // Calyptia-style: the prefilled project is the one verify's example names.
    const project = await execute('POST', '/v1/projects');
    expect(project.status).toBe(201);
    const projectID = project.body.id as string;
    expect((await execute('GET', '/v1/projects')).status).toBe(200);
    expect((await execute('GET', '/v1/projects/{projectID}', { params: { projectID } })).status).toBe(200);
    expect((await execute('PATCH', '/v1/projects/{projectID}', { params: { projectID } })).status).toBe(204);

    const verify = await execute('POST', '/v1/tokens/verify', {
      body: (prefilled) => ({ ...prefilled, token: created.body.token }),
    });
    expect(verify.status).toBe(200);
    expect(verify.body).toMatchObject({ valid: true, code: 'VALID' });
    // Form-encoded first, as OAuth clients send it.
    const introspected = await execute('POST', '/oauth2/introspect', { fields: { token: created.body.token } });
    expect(introspected.status).toBe(200);
    expect(introspected.body).toMatchObject({ active: true });

    const projectToken = await execute('POST', '/v1/projects/{projectID}/tokens', { params: { projectID } });
    expect(projectToken.status).toBe(201);
    const tokenID = projectToken.body.id as string;
    expect((await execute('GET', '/v1/projects/{projectID}/tokens', { params: { projectID } })).status).toBe(200);
    expect((await execute('GET', '/v1/project_tokens/{tokenID}', { params: { tokenID } })).status).toBe(200);
    expect((await execute('PATCH', '/v1/project_tokens/{tokenID}', { params: { tokenID } })).status).toBe(204);
    const both = { params: { projectID, tokenID } };
    expect((await execute('GET', '/v1/projects/{projectID}/tokens/{tokenID}', both)).status).toBe(200);
    expect((await execute('PATCH', '/v1/projects/{projectID}/tokens/{tokenID}', both)).status).toBe(204);
    expect((await execute('DELETE', '/v1/projects/{projectID}/tokens/{tokenID}', both)).status).toBe(204);
    // A second project token (the prefilled name is free again) for the other DELETE.
    const second = await execute('POST', '/v1/projects/{projectID}/tokens', { params: { projectID } });
    expect(second.status).toBe(201);
    const secondID = second.body.id as string;
    expect((await execute('DELETE', '/v1/project_tokens/{tokenID}', { params: { tokenID: secondID } })).status).toBe(
      204,
    );

    // Rotation, switches, audit, then revoke and delete.
    const withId = { body: (prefilled: Record<string, unknown>) => ({ ...prefilled, id }) };
    expect((await execute('POST', '/v1/tokens/{tokenID}/rotate', { params: { tokenID: id } })).status).toBe(200);
    expect((await execute('POST', '/publisher.v1/api-token/rotate', withId)).status).toBe(200);
    expect((await execute('POST', '/publisher.v1/api-token/disable', withId)).status).toBe(200);
    expect((await execute('POST', '/publisher.v1/api-token/enable', withId)).status).toBe(200);
    const audit = await execute('GET', '/v1/audit');
    expect(audit.status).toBe(200);
    expect(audit.body.length).toBeGreaterThan(0); // no filter prefilled: every event
    expect((await execute('POST', '/publisher.v1/api-token/revoke', withId)).status).toBe(200);
    expect((await execute('DELETE', '/v1/projects/{projectID}', { params: { projectID } })).status).toBe(200);

    // Owners, leak reports and the tokens-file tree, as prefilled: nothing matches, and each says so.
    const byOwner = await execute('POST', '/v1/tokens/revoke-by-owner');
    expect(byOwner.status).toBe(200);
    expect((await execute('POST', '/v1/tokens/disable-by-owner')).status).toBe(200);
    expect((await execute('POST', '/v1/tokens/revoke-leaked')).status).toBe(202);
    expect((await execute('DELETE', '/v1/tokens-file/entries/{name}/tokens')).status).toBe(200);

    // Webhooks: create as prefilled, then the routes that take its id.
    const webhook = await execute('POST', '/v1/webhooks');
    expect(webhook.status).toBe(201);
    const webhookID = webhook.body.id as string;
    expect((await execute('GET', '/v1/webhooks')).body.map((w: { id: string }) => w.id)).toContain(webhookID);
    const withWebhook = { params: { webhookID } };
    expect((await execute('GET', '/v1/webhooks/{webhookID}', withWebhook)).status).toBe(200);
    expect((await execute('GET', '/v1/webhooks/{webhookID}/deliveries', withWebhook)).status).toBe(200);
    expect((await execute('POST', '/v1/webhooks/{webhookID}/rotate-secret', withWebhook)).status).toBe(200);
    expect((await execute('DELETE', '/v1/webhooks/{webhookID}', withWebhook)).status).toBe(204);

    // Every operation Swagger UI lists was executed; each one that needed an earlier answer says so.
    expect([...new Set(executed)].sort()).toEqual([...new Set(listed)].sort());
    for (const key of new Set(filled)) expect(COPY_BEFORE_EXECUTE, key).toHaveProperty([key]);
    for (const key of Object.keys(COPY_BEFORE_EXECUTE)) expect(filled, key).toContain(key);
  }, 1_500_000);
});
