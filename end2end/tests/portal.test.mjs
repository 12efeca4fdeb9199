// The end user's archive in a real browser: folders, reader, downloads, search, hostile mail.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  startPortal, openBrowser, hydrated, screenshot, cli, fixturesDir, signIn,
} from './harness.mjs';

const alice = {
  username: 'alice', displayName: 'Alice Martin', password: 'correct horse battery',
  address: 'alice.martin@example.com',
};
let portal;
let browser;

before(async () => {
  portal = await startPortal({
    users: [alice],
    setup: (dataDir) => cli(dataDir, [
      'import', join(fixturesDir, 'archive'), '--format', 'eml',
      '--mailbox', alice.address, '--display-name', 'Alice Martin',
    ]),
  });
  browser = await openBrowser();
  const { page } = browser;
  await page.goto(`${portal.url}/sign-in`);
  await hydrated(page);
  await page.fill('#username', alice.username);
  await page.fill('#password', alice.password);
  await page.click('button[type="submit"]');
  await page.waitForURL(`${portal.url}/mail`);
});

after(async () => {
  await browser?.browser.close();
  await portal?.stop();
});

test('the folder tree lists well-known folders first and opens a nested folder', async () => {
  const { page } = browser;
  await page.goto(`${portal.url}/mail`);
  await hydrated(page);
  const names = await page.locator('.folder-name').allTextContents();
  assert.deepEqual(names.slice(0, 2), ['Inbox', 'Projects']);
  assert.ok(names.indexOf('Sent Items') > names.indexOf('Apollo'), names.join(', '));

  await page.locator('.folder-link', { hasText: 'Apollo' }).click();
  await page.waitForURL(/f=\d+/);
  await page.locator('.pane-head h2', { hasText: 'Apollo' }).waitFor();
  const rows = page.locator('.rows .row');
  assert.equal(await rows.count(), 1);
  assert.match(await rows.first().textContent(), /Apollo launch checklist/);

  // Collapsing Inbox hides its descendants; expanding shows them again.
  await page.locator('li.folder', { hasText: 'Inbox' }).first().locator('button.toggle').click();
  assert.equal(await page.locator('.folder-link', { hasText: 'Apollo' }).isVisible(), false);
  await page.locator('li.folder', { hasText: 'Inbox' }).first().locator('button.toggle').click();
  assert.equal(await page.locator('.folder-link', { hasText: 'Apollo' }).isVisible(), true);
});

test('a message opens in the reader, with its attachment and .eml downloadable', async () => {
  const { page, problems } = browser;
  await page.locator('.rows .row').first().click();
  await page.waitForURL(/msg=\d+/);
  await page.locator('.reader-subject', { hasText: 'Apollo launch checklist' }).waitFor();
  const frame = page.frameLocator('iframe.message-body');
  await frame.locator('h2', { hasText: 'Apollo launch' }).waitFor();
  await screenshot(page, 'reader');

  const [eml] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Download .eml' }).click(),
  ]);
  assert.equal(eml.suggestedFilename(), 'Apollo launch checklist.eml');
  const emlText = readFileSync(await eml.path(), 'utf8');
  const original = readFileSync(join(fixturesDir, 'archive/Inbox/Projects/Apollo/launch.eml'), 'utf8');
  assert.equal(emlText, original, 'the .eml is the archived message byte for byte');

  const [attachment] = await Promise.all([
    page.waitForEvent('download'),
    page.locator('.attachments a', { hasText: 'checklist.txt' }).click(),
  ]);
  assert.equal(attachment.suggestedFilename(), 'checklist.txt');
  assert.match(readFileSync(await attachment.path(), 'utf8'), /Telemetry review/);

  // Back returns to the list with nothing open.
  await page.goBack();
  await page.waitForURL((url) => !url.searchParams.has('msg'));
  assert.deepEqual(problems, []);
});

test('keyboard: arrows move through the list and Enter opens', async () => {
  const { page } = browser;
  await page.goto(`${portal.url}/mail`);
  await hydrated(page);
  await page.locator('.rows').focus();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  const focusedSubject = await page.evaluate(() => document.activeElement.querySelector('.subject')?.textContent);
  assert.ok(focusedSubject, 'a row has focus');
  await page.keyboard.press('Enter');
  await page.waitForURL(/msg=\d+/);
  await page.locator('.reader-subject', { hasText: focusedSubject.trim() }).waitFor();
});

test('search finds a message by a word in its body and opens the hit', async () => {
  const { page } = browser;
  await page.goto(`${portal.url}/mail`);
  await hydrated(page);
  // The portal indexes in the background: retry until the import is searchable.
  let found = false;
  for (let attempt = 0; attempt < 20 && !found; attempt++) {
    await page.fill('input[type="search"]', 'telemetry');
    await page.press('input[type="search"]', 'Enter');
    await page.waitForURL(/q=telemetry/);
    await page.locator('.pane-head h2', { hasText: 'Search' }).waitFor();
    found = (await page.locator('.row.hit').count()) > 0;
    if (!found) await page.waitForTimeout(500);
  }
  assert.ok(found, 'a hit for "telemetry"');
  const hit = page.locator('.row.hit').first();
  assert.match(await hit.locator('.snippet').innerHTML(), /<mark>telemetry<\/mark>/i);
  assert.match(await hit.locator('.folder-path').textContent(), /Apollo/);
  await screenshot(page, 'search');
  await hit.click();
  await page.locator('.reader-subject', { hasText: 'Apollo launch checklist' }).waitFor();

  await page.fill('input[type="search"]', '"unclosed');
  await page.press('input[type="search"]', 'Enter');
  await page.locator('.notice', { hasText: 'could not be understood' }).waitFor();
});

test('hostile mail HTML never runs and no script reaches the page', async () => {
  const { page, problems } = browser;
  await page.goto(`${portal.url}/mail`);
  await hydrated(page);
  await page.locator('.row', { hasText: 'Your invoice' }).click();
  await page.locator('.reader-subject', { hasText: 'Your invoice' }).waitFor();
  const frame = page.frameLocator('iframe.message-body');
  await frame.locator('text=Thank you').waitFor();
  await page.locator('.notice', { hasText: 'remote images were blocked' }).waitFor();
  await page.waitForTimeout(500);
  assert.equal(await page.evaluate(() => window.pwned), undefined, 'nothing ran in the page');
  const frameHandle = await page.locator('iframe.message-body').elementHandle();
  const inner = await frameHandle.contentFrame();
  assert.equal(await inner.locator('script, iframe, form, object, svg').count(), 0);
  assert.equal(await inner.locator('[onload], [onerror]').count(), 0);
  assert.equal(await page.locator('.reader script').count(), 0);
  await screenshot(page, 'hostile');
  // The frame's own policy blocks the tracker; Chromium may report that as a console error,
  // which is the protection working, so only page errors count here.
  assert.deepEqual(problems.filter((p) => p.startsWith('page error')), []);
});

test('a phone-sized screen shows one pane at a time', async () => {
  const { context } = browser;
  const phone = await context.newPage();
  await phone.setViewportSize({ width: 390, height: 844 });
  await phone.goto(`${portal.url}/mail`);
  await hydrated(phone);
  assert.equal(await phone.locator('.reader-pane').isVisible(), false);
  await phone.locator('.row').first().click();
  await phone.waitForURL(/msg=\d+/);
  await phone.locator('.reader .back').waitFor();
  assert.equal(await phone.locator('.list-pane').isVisible(), false);
  // The message itself shows, not only its headers.
  await phone.frameLocator('iframe.message-body').locator('text=Thank you').waitFor();
  const body = await phone.locator('iframe.message-body').boundingBox();
  assert.ok(body && body.height > 100, `the body has room: ${JSON.stringify(body)}`);
  // As for the hostile message above: the frame's text is there before it is painted.
  await phone.waitForTimeout(500);
  await screenshot(phone, 'phone-reader');
  await phone.close();
});

test('signing out ends access', async () => {
  const { page } = browser;
  await page.goto(`${portal.url}/mail`);
  await hydrated(page);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(`${portal.url}/sign-in`);
  await page.goto(`${portal.url}/mail`);
  await page.waitForURL(`${portal.url}/sign-in`);
  const eml = await page.request.get(`${portal.url}/download/1/eml`);
  assert.equal(eml.status(), 401);
});

test('without JavaScript, "Sign out" is a plain form post that ends the session', async () => {
  const { page, context, browser: chromium } = browser;
  // This browser's session, in a second window that runs no script: the page as it is before
  // the app has hydrated it.
  await signIn(page, portal.url, alice.username, alice.password);
  const noScript = await chromium.newContext({ javaScriptEnabled: false });
  await noScript.addCookies(await context.cookies());
  const plain = await noScript.newPage();
  await plain.goto(`${portal.url}/mail`);
  await plain.locator('.topbar .user-name', { hasText: alice.displayName }).waitFor();
  await plain.getByRole('button', { name: 'Sign out' }).click();
  await plain.waitForURL(`${portal.url}/sign-in`);
  await page.goto(`${portal.url}/mail`);
  await page.waitForURL(`${portal.url}/sign-in`);
  await noScript.close();
});

test('the access log opens from the top bar, and "every device" ends every session', async () => {
  const { page, browser: chromium, problems } = browser;
  const earlier = problems.length;
  // Two sessions of Alice's: this browser's and another device's.
  await signIn(page, portal.url, alice.username, alice.password);
  const otherDevice = await chromium.newContext();
  const other = await otherDevice.newPage();
  await signIn(other, portal.url, alice.username, alice.password);

  await hydrated(page);
  assert.equal(await page.title(), 'Mail archive · Sync & Recover');
  // A move inside the app: the browser sets the new page's title itself.
  await page.locator('.topbar').getByRole('link', { name: 'Access log' }).click();
  await page.waitForURL(`${portal.url}/access-log`);
  await page.locator('h1', { hasText: 'Access to your mail' }).waitFor();
  await page.waitForFunction(() => document.title === 'Access to your mail · Sync & Recover');
  await screenshot(page, 'access-log');

  await page.getByRole('button', { name: 'Sign out on every device' }).click();
  await page.waitForURL(`${portal.url}/sign-in`);
  await other.goto(`${portal.url}/mail`);
  await other.waitForURL(`${portal.url}/sign-in`);
  await otherDevice.close();
  assert.deepEqual(problems.slice(earlier), [], 'no console errors or page errors');
});
