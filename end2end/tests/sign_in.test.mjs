// The sign-in page: rendered on the server, interactive after hydration, and it really signs in.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPortal, openBrowser, hydrated, screenshot } from './harness.mjs';

const alice = { username: 'alice', displayName: 'Alice Archer', password: 'correct horse battery' };
let portal;
let browser;

before(async () => {
  portal = await startPortal({ users: [alice] });
});

after(async () => {
  await browser?.browser.close();
  await portal?.stop();
});

test('the server renders the sign-in form with the button disabled', async () => {
  const response = await fetch(`${portal.url}/sign-in`);
  assert.equal(response.status, 200);
  const html = await response.text();
  assert.match(html, /<input[^>]*id="username"/);
  assert.match(html, /<input[^>]*type="password"/);
  assert.match(html, /<button[^>]*type="submit"[^>]*disabled/);
  // The bundle's names carry the hash of its content.
  const script = html.match(/\/pkg\/sync-recover\.([0-9a-f]{16})\.js/);
  assert.ok(script, 'the hydration script is referenced under its hashed name');
  const hash = script[1];
  assert.match(html, /\/pkg\/style\.[0-9a-f]{16}\.css/, 'the style sheet too');
  assert.doesNotMatch(html, /sync-recover-admin/, 'the sign-in page does not load the admin screens');
  for (const [encoding, accept] of [['br', 'br, gzip'], ['gzip', 'gzip']]) {
    const wasm = await fetch(`${portal.url}/pkg/sync-recover.${hash}_bg.wasm`, {
      headers: { 'accept-encoding': accept },
    });
    assert.equal(wasm.status, 200);
    assert.equal(wasm.headers.get('content-type'), 'application/wasm');
    assert.equal(wasm.headers.get('content-encoding'), encoding, 'sent precompressed');
    assert.match(wasm.headers.get('cache-control'), /immutable/, 'kept by the browser');
  }
  const stale = await fetch(`${portal.url}/pkg/sync-recover.0000000000000000_bg.wasm`);
  assert.equal(stale.status, 404);
  assert.doesNotMatch(stale.headers.get('cache-control') ?? '', /immutable/);
});

test('a signed-out visit to the archive goes to sign-in', async () => {
  browser = await openBrowser();
  const { page } = browser;
  await page.goto(`${portal.url}/`);
  await page.waitForURL(`${portal.url}/sign-in`);
  assert.equal(new URL(page.url()).pathname, '/sign-in');
});

test('after hydration the button follows the fields, and sign-in works', async () => {
  const { page, problems } = browser;
  await page.goto(`${portal.url}/sign-in`);
  await hydrated(page);
  const button = page.locator('button[type="submit"]');
  assert.equal(await button.isDisabled(), true);

  await page.fill('#username', 'alice');
  assert.equal(await button.isDisabled(), true, 'still disabled with only a user name');
  await page.fill('#password', 'wrong password');
  assert.equal(await button.isDisabled(), false, 'enabled once both are filled');
  await page.fill('#username', '');
  assert.equal(await button.isDisabled(), true, 'disabled again when one is emptied');

  await page.fill('#username', 'alice');
  await button.click();
  const alert = page.locator('[role="alert"]');
  await alert.waitFor();
  assert.equal((await alert.textContent()).trim(), 'Wrong user name or password.');
  await screenshot(page, 'sign-in-refused');

  await page.fill('#password', alice.password);
  await button.click();
  await page.waitForURL(`${portal.url}/mail`);
  await page.locator('.topbar .user-name', { hasText: alice.displayName }).waitFor();
  await page.locator('h1', { hasText: 'No archive yet' }).waitFor();
  await screenshot(page, 'no-archive-yet');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(`${portal.url}/sign-in`);
  await page.goto(`${portal.url}/`);
  await page.waitForURL(`${portal.url}/sign-in`);

  assert.deepEqual(problems, [], 'no console errors or page errors');
});
