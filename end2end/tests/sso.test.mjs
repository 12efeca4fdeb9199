// Single sign-on in a real browser: the portal's button, the provider's own login form
// (npm oidc-provider on a loopback port), and back in the archive as the provider's user.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPortal, startProvider, freePort, openBrowser, hydrated, screenshot } from './harness.mjs';

let provider;
let portal;
let browser;
let base;

before(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  provider = await startProvider(`${base}/auth/sso/callback`);
  portal = await startPortal({
    env: {
      SR_SERVER__LISTEN: `127.0.0.1:${port}`,
      SR_SERVER__PUBLIC_URL: base,
      SR_SSO__ISSUER: provider.issuer,
      SR_SSO__CLIENT_ID: 'sync-recover',
      SR_SSO__CLIENT_SECRET: 'test-secret',
      SR_SSO__PROVIDER_NAME: 'Example Corp',
    },
  });
  browser = await openBrowser();
});

after(async () => {
  await browser?.browser.close();
  await portal?.stop();
  await provider?.stop();
});

test('a person signs in through the provider and lands in their archive', async () => {
  const { page, problems } = browser;
  await page.goto(`${base}/sign-in`);
  await hydrated(page);
  const button = page.getByRole('link', { name: 'Sign in with Example Corp' });
  await button.waitFor();
  await screenshot(page, 'sign-in-sso');
  await button.click();
  // The provider's own form, on its own origin.
  await page.waitForURL((url) => url.href.startsWith(provider.issuer));
  await page.fill('input[name="login"]', 'ann');
  await page.fill('input[name="password"]', 'password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${base}/mail`);
  await page.locator('.topbar .user-name', { hasText: 'Ann Archer' }).waitFor();
  await page.locator('h1', { hasText: 'No archive yet' }).waitFor();
  assert.deepEqual(problems, []);
});

test('a refused sign-on says why in one sentence', async () => {
  const context = await browser.browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/sign-in?sso=disabled`);
  const alert = page.locator('[role="alert"]');
  await alert.waitFor();
  assert.equal((await alert.textContent()).trim(), 'Your account here is disabled. Ask your administrator.');
  // Words that are not one of ours are never shown.
  await page.goto(`${base}/sign-in?sso=Call+0800+now`);
  await hydrated(page);
  assert.equal(await page.locator('[role="alert"]').count(), 0);
  await context.close();
});
