// Starts the real built portal on a free port with a fresh data folder, and a headless Chromium.
// Every test file uses these two helpers; nothing here fakes the server.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const targetDir = process.env.CARGO_TARGET_DIR || join(root, 'target');
export const binary = process.env.SR_BINARY || join(targetDir, 'debug', 'sync-recover');
export const screenshotDir = join(root, 'end2end', 'screenshots');
export const fixturesDir = join(root, 'end2end', 'fixtures');

function env(dataDir) {
  return {
    ...process.env,
    SR_SERVER__LISTEN: '127.0.0.1:0',
    SR_SERVER__SITE_ROOT: join(root, 'target', 'site'),
    SR_STORAGE__DATA_DIR: dataDir,
    SR_LOG__LEVEL: 'info,sqlx=warn',
  };
}

/** Runs a CLI command of the portal against the given data folder. */
export function cli(dataDir, args, extraEnv = {}) {
  return execFileSync(binary, args, { env: { ...env(dataDir), ...extraEnv }, encoding: 'utf8' });
}

/** Starts `sync-recover serve`; resolves once it prints the address it listens on. */
export async function startPortal({ users = [], setup, env: extra = {} } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'sr-e2e-'));
  for (const u of users) {
    const args = ['users', 'add', u.username, '--display-name', u.displayName];
    if (u.admin) args.push('--admin');
    if (u.address) args.push('--address', u.address);
    cli(dataDir, args, { SR_PASSWORD: u.password });
  }
  if (setup) setup(dataDir);
  const child = spawn(binary, ['serve'], {
    env: { ...env(dataDir), ...extra },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  const url = await new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`portal did not start:\n${log}`)), 60_000);
    child.stderr.on('data', (chunk) => {
      log += chunk.toString();
      const match = log.match(/portal listening on (http:\/\/[0-9.:]+)/);
      if (match) {
        clearTimeout(timer);
        resolvePromise(match[1]);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`portal exited with ${code}:\n${log}`));
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${binary} (build it first): ${err.message}`));
    });
  });
  return {
    url,
    dataDir,
    log: () => log,
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Starts the built-in Exchange simulator (`sync-recover simulator`) on a free port. */
export async function startSimulator() {
  const child = spawn(binary, ['simulator', '--listen', '127.0.0.1:0'], {
    env: { ...process.env, SR_LOG__LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  const url = await new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`simulator did not start:\n${log}`)), 30_000);
    child.stderr.on('data', (chunk) => {
      log += chunk.toString();
      const match = log.match(/(http:\/\/127\.0\.0\.1:\d+)/);
      if (match) {
        clearTimeout(timer);
        resolvePromise(match[1]);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`simulator exited with ${code}:\n${log}`));
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${binary}: ${err.message}`));
    });
  });
  return {
    url,
    ewsUrl: `${url}/EWS/Exchange.asmx`,
    serviceAccount: 'svc-archive@example.com',
    servicePassword: 'sim-password',
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Signs in through the form and waits for the archive page. */
export async function signIn(page, url, username, password) {
  await page.goto(`${url}/sign-in`);
  await hydrated(page);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('button[type="submit"]');
  await page.waitForURL(`${url}/mail`);
}

/** A headless Chromium page that records console errors and uncaught exceptions. */
export async function openBrowser() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  return { browser, context, page, problems };
}

/** Waits until the app has hydrated the server-rendered page. */
export async function hydrated(page) {
  await page.waitForSelector('html[data-hydrated="true"]', { timeout: 30_000 });
}

export async function screenshot(page, name) {
  mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage: true });
}

/** A port nothing listens on right now (for a portal whose address must be known in advance). */
export async function freePort() {
  const { createServer } = await import('node:net');
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePromise(port));
    });
  });
}

/** The test OpenID Connect provider (end2end/oidc/provider.mjs, npm oidc-provider). */
export async function startProvider(redirectUri) {
  const child = spawn(process.execPath, [join(root, 'end2end', 'oidc', 'provider.mjs')], {
    env: { ...process.env, OIDC_PORT: '0', OIDC_REDIRECT_URIS: redirectUri },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let out = '';
  const issuer = await new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`provider did not start:\n${out}`)), 30_000);
    child.stdout.on('data', (chunk) => {
      out += chunk.toString();
      const match = out.match(/OIDC_READY (\S+)/);
      if (match) {
        clearTimeout(timer);
        resolvePromise(match[1]);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`provider exited with ${code}:\n${out}`));
    });
  });
  return {
    issuer,
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
