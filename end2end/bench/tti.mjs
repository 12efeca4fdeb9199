// Time to interactive of the mail screen in Chromium: from the start of the navigation to the
// moment the app has hydrated the server-rendered page (html[data-hydrated]), with an empty
// cache (every run a new browser context) and with a warm one (the same context again), on
// loopback and on a throttled link. Also the bytes the browser fetched. Not a test.
//
//   node end2end/bench/tti.mjs [RUNS]       (after `cargo test --no-run` and scripts/build-site.sh)
import { join } from 'node:path';
import { startPortal, openBrowser, signIn, cli, fixturesDir } from '../tests/harness.mjs';

const runs = Number(process.argv[2] || 10);
const alice = {
  username: 'alice', displayName: 'Alice Martin', password: 'correct horse battery',
  address: 'alice.martin@example.com',
};
// A home link: 20 Mbit/s down, 5 up, 40 ms round trip (Chrome's own throttling, on the wire).
const links = [
  { name: 'loopback', conditions: null },
  { name: '20 Mbit/s, 40 ms', conditions: { offline: false, latency: 40, downloadThroughput: 20e6 / 8, uploadThroughput: 5e6 / 8 } },
];

const portal = await startPortal({
  users: [alice],
  setup: (dataDir) => cli(dataDir, [
    'import', join(fixturesDir, 'archive'), '--format', 'eml',
    '--mailbox', alice.address, '--display-name', 'Alice Martin',
  ]),
});
const browser = await openBrowser();
try {
  await signIn(browser.page, portal.url, alice.username, alice.password);
  const cookies = await browser.context.cookies();
  for (const link of links) {
    const cold = [];
    const warm = [];
    let bytes = 0;
    for (let i = 0; i < runs; i += 1) {
      const context = await browser.browser.newContext({ viewport: { width: 1280, height: 800 } });
      await context.addCookies(cookies);
      await context.addInitScript(() => {
        new MutationObserver((_, observer) => {
          if (document.documentElement.dataset.hydrated === 'true') {
            window.__hydratedAt = performance.now();
            observer.disconnect();
          }
        // The root element may not exist yet when this runs: watch the whole document.
        }).observe(document, { attributes: true, subtree: true, attributeFilter: ['data-hydrated'] });
      });
      const page = await context.newPage();
      if (link.conditions) {
        const cdp = await context.newCDPSession(page);
        await cdp.send('Network.enable');
        await cdp.send('Network.emulateNetworkConditions', link.conditions);
      }
      for (const into of [cold, warm]) {
        await page.goto(`${portal.url}/mail`);
        await page.waitForFunction(() => window.__hydratedAt !== undefined, null, { timeout: 60_000 });
        into.push(await page.evaluate(() => window.__hydratedAt));
        if (into === cold) {
          bytes = await page.evaluate(() => performance.getEntriesByType('resource')
            .concat(performance.getEntriesByType('navigation'))
            .reduce((sum, e) => sum + (e.transferSize || 0), 0));
        }
      }
      await context.close();
    }
    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const max = (xs) => Math.max(...xs);
    console.log(`${link.name}: cold cache median ${median(cold).toFixed(0)} ms (max ${max(cold).toFixed(0)}), `
      + `warm cache median ${median(warm).toFixed(0)} ms (max ${max(warm).toFixed(0)}); `
      + `${(bytes / 1024).toFixed(0)} KB transferred on a cold load (${runs} runs)`);
  }
} finally {
  await browser.browser.close();
  await portal.stop();
}
