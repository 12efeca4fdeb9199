// A newsletter as it was sent: its own style sheet and layout kept (safely), remote images
// blocked until the reader asks, then loaded through the portal, never from the browser.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPortal, openBrowser, signIn, screenshot, cli, fixturesDir } from './harness.mjs';

const alice = {
  username: 'alice', displayName: 'Alice Martin', password: 'correct horse battery',
  address: 'alice.martin@example.com',
};
// A 24x24 PNG, blue.
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000180000001808020000006f15aaaf0000001f4944415478da63902a7e4115c4306ad0a841a3068d1a346ad0a841036f1000ae82476e6d96d38c0000000049454e44ae426082',
  'hex',
);
let portal;
let browser;
let images;
const requests = [];

before(async () => {
  // The sender's image server, on loopback: it must see requests only after "Show images",
  // and only from the portal (no cookies, no referrer).
  images = createServer((req, res) => {
    requests.push({ url: req.url, cookie: req.headers.cookie, referer: req.headers.referer });
    if (req.url === '/pixel.png') {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': PNG.length });
      res.end(PNG);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise((r) => images.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${images.address().port}`;
  const mail = mkdtempSync(join(tmpdir(), 'sr-newsletter-'));
  mkdirSync(join(mail, 'Inbox'));
  const template = readFileSync(join(fixturesDir, 'newsletter', 'newsletter.eml.template'), 'utf8');
  writeFileSync(join(mail, 'Inbox', 'newsletter.eml'), template.replaceAll('IMAGES', base));
  // A real newsletter of 2002, its style sheet in an HTML comment as mailers wrote them then.
  writeFileSync(
    join(mail, 'Inbox', 'lockergnome.eml'),
    readFileSync(join(fixturesDir, 'newsletter', 'lockergnome.eml')),
  );
  // A Date without its zone, and the header after it that a naive parser would swallow.
  writeFileSync(join(mail, 'Inbox', 'zoneless.eml'), [
    'Date: 03 Jul 01 12:47:50 AM',
    'From: Old Friend <friend@example.org>',
    'Subject: Photos from the lake',
    '',
    'The photos from the lake are attached... or would be, in 2001.',
    '',
  ].join('\r\n'));

  // A second archive of Alice's own, from an older system.
  const old = mkdtempSync(join(tmpdir(), 'sr-old-archive-'));
  mkdirSync(join(old, 'Inbox'));
  writeFileSync(join(old, 'Inbox', 'keys.eml'), [
    'Date: Sat, 14 Jul 2001 09:00:00 +0200',
    'From: Sam <sam@example.org>',
    'Subject: Lake house keys',
    '',
    'The keys to the lake house are under the blue pot.',
    '',
  ].join('\r\n'));

  portal = await startPortal({
    users: [alice],
    env: { SR_SERVER__IMAGES_FROM_PRIVATE_NETWORKS: 'true' },
    setup: (dataDir) => {
      cli(dataDir, [
        'import', mail, '--format', 'eml', '--mailbox', alice.address, '--display-name', 'Alice Martin',
      ]);
      cli(dataDir, [
        'import', old, '--format', 'eml', '--mailbox', 'alice-2001', '--owner', alice.address,
        '--display-name', 'Old archive 2001',
      ]);
    },
  });
  browser = await openBrowser();
  await signIn(browser.page, portal.url, alice.username, alice.password);
});

after(async () => {
  await browser?.browser.close();
  await portal?.stop();
  images?.close();
});

test('a newsletter keeps its layout and loads no image until asked', async () => {
  const { page, problems } = browser;
  await page.locator('.row', { hasText: 'Northwind Weekly' }).click();
  await page.locator('.reader-subject', { hasText: 'Northwind Weekly' }).waitFor();
  const frame = page.frameLocator('iframe.message-body');
  await frame.locator('.masthead h1', { hasText: 'NORTHWIND WEEKLY' }).waitFor();

  // The sender's style sheet applies: colours, widths and the two columns.
  const style = await frame.locator('.masthead').evaluate((el) => {
    const s = getComputedStyle(el);
    return { background: s.backgroundColor, color: s.color };
  });
  assert.deepEqual(style, { background: 'rgb(27, 67, 50)', color: 'rgb(255, 255, 255)' });
  assert.equal(
    await frame.locator('.container').evaluate((el) => getComputedStyle(el).width),
    '560px',
  );
  assert.equal(
    await frame.locator('.offer').evaluate((el) => getComputedStyle(el).backgroundColor),
    'rgb(255, 183, 3)',
  );
  const cells = await frame.locator('.columns td').evaluateAll((tds) => tds.map((td) => td.getBoundingClientRect().top));
  assert.equal(cells.length, 2);
  assert.ok(Math.abs(cells[0] - cells[1]) < 1, `side by side: ${cells}`);
  // What could escape the frame or fetch did not survive.
  const sheets = (await frame.locator('style').allTextContents()).join('\n');
  assert.match(sheets, /\.masthead\{background:#1b4332/);
  assert.doesNotMatch(sheets, /fixed|url\(|@import/i);
  // The document's title is not shown as if it were text of the mail.
  assert.equal(
    await frame.locator('body').evaluate((b) => b.innerText.trim().startsWith('Northwind Weekly')),
    false,
  );
  await page.locator('.images-notice', { hasText: '4 remote images were blocked' }).waitFor();
  assert.deepEqual(requests, [], 'the browser or the portal contacted the sender');
  await screenshot(page, 'newsletter');

  await page.locator('button.show-images').click();
  await page.locator('.images-notice', { hasText: 'Remote images are shown' }).waitFor();
  await frame.locator('img[src^="data:image/png"]').first().waitFor();
  assert.equal(await frame.locator('img[src^="data:image/png"]').count(), 3);
  const loaded = await frame.locator('img[src^="data:image/png"]').evaluateAll(
    (imgs) => imgs.every((img) => img.complete && img.naturalWidth === 24),
  );
  assert.ok(loaded, 'the fetched images are shown');
  assert.ok(requests.length >= 1, 'the portal fetched the images');
  assert.ok(requests.every((r) => !r.cookie && !r.referer), JSON.stringify(requests));
  await screenshot(page, 'newsletter-images');
  assert.deepEqual(problems.filter((p) => p.startsWith('page error')), []);
});

test('a date without its zone is shown as read, and said so', async () => {
  const { page } = browser;
  await page.locator('.row', { hasText: 'Photos from the lake' }).click();
  await page.locator('.reader-subject', { hasText: 'Photos from the lake' }).waitFor();
  const headers = await page.locator('.reader-headers').innerText();
  assert.match(headers, /Old Friend/);
  assert.match(headers, /Tue 3 Jul 2001 00:47 UTC/);
  assert.match(headers, /gives no time zone/);
  await screenshot(page, 'zoneless-date');
});

test('a real newsletter of 2002 keeps its own style sheet', async () => {
  const { page } = browser;
  await page.locator('.row', { hasText: 'Brilliant Mistakes' }).click();
  await page.locator('.reader-subject', { hasText: 'Brilliant Mistakes' }).waitFor();
  const frame = page.frameLocator('iframe.message-body');
  const title = frame.locator('p.title').first();
  await title.waitFor();
  const style = await title.evaluate((el) => {
    const s = getComputedStyle(el);
    return { background: s.backgroundColor, border: s.borderBottomWidth, color: s.color };
  });
  assert.deepEqual(style, { background: 'rgb(255, 204, 153)', border: '4px', color: 'rgb(153, 0, 0)' });
  const sheets = (await frame.locator('style').allTextContents()).join('\n');
  assert.doesNotMatch(sheets, /url\(/i, 'the background image in the sheet is gone');
  assert.match(sheets, /p\.sidebar\{/);
  await screenshot(page, 'newsletter-2002');
});

test('a search covers every mailbox of mine, says where each hit is, and narrows to one', async () => {
  const { page } = browser;
  await page.goto(`${portal.url}/mail`);
  await page.fill('input[type="search"]', 'lake');
  await page.press('input[type="search"]', 'Enter');
  const rows = page.locator('.rows .row');
  await page.locator('.pane-head', { hasText: '2 messages' }).waitFor();
  const paths = await page.locator('.rows .row .folder-path').allTextContents();
  assert.deepEqual(paths.sort(), ['Alice Martin · Inbox', 'Old archive 2001 · Inbox']);
  await page.locator('.mailbox-filter', { hasText: 'All my mailboxes' }).waitFor();
  await screenshot(page, 'search-all-mailboxes');

  await page.locator('.mailbox-filter a', { hasText: 'Old archive 2001' }).click();
  await page.waitForURL(/w=\d+/);
  await page.locator('.pane-head', { hasText: '1 message' }).waitFor();
  assert.equal(await rows.count(), 1);
  await rows.first().click();
  await page.locator('.reader-subject', { hasText: 'Lake house keys' }).waitFor();
  // The hit opened in its own mailbox: the tree beside it is that mailbox's.
  await page.locator('.mailbox-switcher a.current', { hasText: 'Old archive 2001' }).waitFor();
});
