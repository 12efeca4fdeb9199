// Smoke test for oidc/provider.mjs: drives a full authorization-code + PKCE login with plain
// fetch (no browser), the way a server-side client (e.g. the Rust side with reqwest) would.
//
// Usage (from end2end/): node oidc/smoke.mjs   -> prints SMOKE OK and exits 0 on success.

import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import * as readline from 'node:readline';

const CLIENT_ID = 'sync-recover';
const CLIENT_SECRET = 'test-secret';
const REDIRECT_URI = 'http://127.0.0.1:3000/auth/oidc/callback';

const providerPath = fileURLToPath(new URL('./provider.mjs', import.meta.url));
const verbose = !!process.env.SMOKE_VERBOSE;

let child;
let providerStderr = '';

// Never leave the provider behind: also on uncaught errors (e.g. EPIPE) and on signals.
process.on('exit', () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    console.error(`SMOKE FAILED: interrupted by ${sig}`);
    process.exit(1);
  });
}

function fail(message) {
  throw new Error(message);
}

function check(cond, message) {
  if (!cond) fail(message);
}

function log(...args) {
  if (verbose) console.error('[smoke]', ...args);
}

async function startProvider() {
  child = spawn(process.execPath, [providerPath], {
    env: {
      ...process.env,
      OIDC_PORT: '0',
      OIDC_CLIENT_ID: CLIENT_ID,
      OIDC_CLIENT_SECRET: CLIENT_SECRET,
      OIDC_REDIRECT_URIS: REDIRECT_URI,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr.on('data', (d) => { providerStderr += d; if (verbose) process.stderr.write(d); });
  const rl = readline.createInterface({ input: child.stdout });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`provider not ready after 15s; stderr:\n${providerStderr}`)), 15000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`provider exited early (code ${code}, signal ${signal}); stderr:\n${providerStderr}`));
    });
    rl.on('line', (line) => {
      const m = /^OIDC_READY (\S+)$/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      } else {
        log('provider stdout:', line);
      }
    });
  });
}

async function stopProvider() {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 3000);
  const [code, signal] = await exited;
  clearTimeout(t);
  log(`provider exited code=${code} signal=${signal}`);
}

// Minimal cookie jar: name -> value (all cookies of this one host; path handling is
// approximated by sending every cookie, which the provider tolerates).
class CookieJar {
  #cookies = new Map();

  store(res) {
    for (const sc of res.headers.getSetCookie()) {
      const [pair, ...attrs] = sc.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a))
        || attrs.some((a) => /^\s*max-age=0\s*$/i.test(a));
      if (expired || value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  header() {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  names() {
    return [...this.#cookies.keys()];
  }
}

async function request(jar, url, init = {}) {
  const headers = new Headers(init.headers);
  const cookie = jar.header();
  if (cookie) headers.set('cookie', cookie);
  const res = await fetch(url, { ...init, headers, redirect: 'manual' });
  jar.store(res);
  log(init.method ?? 'GET', String(url), '->', res.status, res.headers.get('location') ?? '',
    res.headers.getSetCookie().map((c) => c.split(';')[0].split('=')[0]).join(','));
  return res;
}

function b64url(buf) {
  return Buffer.from(buf).toString('base64url');
}

function decodeJwtPayload(jwt) {
  const parts = jwt.split('.');
  check(parts.length === 3, `ID token is not a JWS compact serialization: ${jwt}`);
  return {
    header: JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')),
    payload: JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')),
  };
}

// Starts a fresh authorization request and follows redirects until the login form.
// Returns { jar, formAction (absolute URL), state, nonce, verifier }.
async function startLogin(discovery) {
  const jar = new CookieJar();
  const state = b64url(crypto.randomBytes(16));
  const nonce = b64url(crypto.randomBytes(16));
  const verifier = b64url(crypto.randomBytes(32));
  const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');

  const authUrl = new URL(discovery.authorization_endpoint);
  authUrl.search = new URLSearchParams({
    response_type: 'code',
    client_id: CLIENT_ID,
    redirect_uri: REDIRECT_URI,
    scope: 'openid email profile',
    state,
    nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();

  // 1. GET /auth?... -> 303 to /interaction/<uid>, sets _interaction + _interaction_resume cookies
  let res = await request(jar, authUrl);
  check(res.status === 303 || res.status === 302, `authorize: expected redirect, got ${res.status}: ${await res.text()}`);
  const interactionUrl = new URL(res.headers.get('location'), authUrl);
  check(/^\/interaction\/[^/]+$/.test(interactionUrl.pathname), `authorize redirected to unexpected ${interactionUrl}`);
  check(jar.names().includes('_interaction'), `authorize did not set _interaction cookie (have ${jar.names()})`);

  // 2. GET /interaction/<uid> -> 200 login form
  res = await request(jar, interactionUrl);
  const html = await res.text();
  check(res.status === 200, `login page: expected 200, got ${res.status}: ${html}`);
  const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
  check(action, `login page has no form action: ${html}`);
  check(/name="login"/.test(html) && /name="password"/.test(html), 'login form lacks login/password fields');
  check(/Sign in<\/button>/.test(html), 'login form lacks "Sign in" button');
  return {
    jar, formAction: new URL(action, interactionUrl), state, nonce, verifier,
  };
}

// Full login (fresh cookie jar) up to the redirect back to redirect_uri; returns the code.
async function loginAndGetCode(discovery, login) {
  const s = await startLogin(discovery);
  let res = await request(s.jar, s.formAction, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ login, password: 'password' }),
  });
  check(res.status === 303, `${login} login POST: expected 303, got ${res.status}`);
  let u = new URL(res.headers.get('location'), s.formAction);
  for (let i = 0; i < 5 && !u.href.startsWith(REDIRECT_URI); i += 1) {
    res = await request(s.jar, u);
    check(res.status === 303 || res.status === 302, `${login} resume: expected redirect, got ${res.status}`);
    u = new URL(res.headers.get('location'), u);
  }
  const code = u.searchParams.get('code');
  check(code && u.searchParams.get('state') === s.state, `${login}: no code/state mismatch: ${u}`);
  return { ...s, code };
}

async function main() {
  const issuer = await startProvider();
  log('issuer', issuer);
  check(issuer.startsWith('http://127.0.0.1:'), `unexpected issuer ${issuer}`);

  // Discovery
  const dres = await fetch(`${issuer}/.well-known/openid-configuration`);
  check(dres.ok, `discovery: HTTP ${dres.status}`);
  const discovery = await dres.json();
  check(discovery.issuer === issuer, `discovery issuer ${discovery.issuer} != ${issuer}`);
  for (const k of ['authorization_endpoint', 'token_endpoint', 'jwks_uri', 'userinfo_endpoint']) {
    check(typeof discovery[k] === 'string' && discovery[k].startsWith(issuer), `discovery ${k} missing/wrong: ${discovery[k]}`);
  }
  check(discovery.code_challenge_methods_supported?.includes('S256'), 'S256 not in code_challenge_methods_supported');
  log('discovery', JSON.stringify(discovery, null, 1));

  const jwksRes = await fetch(discovery.jwks_uri);
  check(jwksRes.ok, `jwks: HTTP ${jwksRes.status}`);
  const jwks = await jwksRes.json();
  check(jwks.keys?.some((k) => k.kty === 'RSA' && k.alg === 'RS256'), `jwks has no RS256 RSA key: ${JSON.stringify(jwks)}`);
  check(jwks.keys.every((k) => !('d' in k)), 'jwks leaks private key material');

  // --- Wrong password is refused ---
  {
    const { jar, formAction } = await startLogin(discovery);
    const res = await request(jar, formAction, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ login: 'ann', password: 'wrong' }),
    });
    const html = await res.text();
    check(res.status === 200, `wrong password: expected 200 form again, got ${res.status} ${res.headers.get('location') ?? ''}`);
    check(!res.headers.get('location'), 'wrong password: got a redirect');
    check(/Invalid login or password/.test(html) && /name="password"/.test(html), `wrong password: form not shown again with error: ${html}`);
  }
  // --- Unknown account is refused ---
  {
    const { jar, formAction } = await startLogin(discovery);
    const res = await request(jar, formAction, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ login: 'mallory', password: 'password' }),
    });
    const html = await res.text();
    check(res.status === 200 && /Invalid login or password/.test(html), `unknown account: not refused (${res.status})`);
  }

  // --- Successful login as ann ---
  const {
    jar, formAction, state, nonce, verifier,
  } = await startLogin(discovery);

  // 3. POST /interaction/<uid>/login (login, password) -> 303 to /auth/<uid>
  let res = await request(jar, formAction, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ login: 'ann', password: 'password' }),
  });
  check(res.status === 303, `login POST: expected 303, got ${res.status}: ${await res.text()}`);
  let next = new URL(res.headers.get('location'), formAction);
  check(next.pathname.startsWith('/auth/'), `login POST redirected to unexpected ${next}`);

  // 4. GET /auth/<uid> (resume; needs _interaction_resume cookie) -> 303 to redirect_uri?code=&state=&iss=
  //    sets _session cookie. Follow any further provider-internal redirects.
  let callback;
  for (let i = 0; i < 5; i += 1) {
    res = await request(jar, next);
    check(res.status === 303 || res.status === 302, `resume: expected redirect, got ${res.status}: ${await res.text()}`);
    next = new URL(res.headers.get('location'), next);
    if (next.href.startsWith(REDIRECT_URI)) {
      callback = next;
      break;
    }
    check(next.origin === issuer, `resume redirected off-provider to ${next}`);
  }
  check(callback, 'never got redirected back to redirect_uri');
  check(jar.names().includes('_session'), `no _session cookie after login (have ${jar.names()})`);
  check(!callback.searchParams.get('error'), `callback carries error: ${callback}`);
  const code = callback.searchParams.get('code');
  check(code, `callback has no code: ${callback}`);
  check(callback.searchParams.get('state') === state, `callback state mismatch: ${callback}`);
  if (callback.searchParams.has('iss')) {
    check(callback.searchParams.get('iss') === issuer, `callback iss mismatch: ${callback}`);
  }

  // 5. Token exchange with client_secret_basic + PKCE verifier
  const basic = Buffer.from(`${encodeURIComponent(CLIENT_ID)}:${encodeURIComponent(CLIENT_SECRET)}`).toString('base64');
  const tokenBody = new URLSearchParams({
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
  });

  let tres = await fetch(discovery.token_endpoint, {
    method: 'POST',
    headers: {
      authorization: `Basic ${basic}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: tokenBody,
  });
  const tokens = await tres.json();
  check(tres.ok, `token endpoint: HTTP ${tres.status}: ${JSON.stringify(tokens)}`);
  check(tokens.token_type?.toLowerCase() === 'bearer', `token_type: ${tokens.token_type}`);
  check(typeof tokens.access_token === 'string', 'no access_token');
  check(typeof tokens.id_token === 'string', 'no id_token');

  const { header, payload } = decodeJwtPayload(tokens.id_token);
  log('id_token header', header, 'payload', payload);
  check(header.alg === 'RS256', `id_token alg ${header.alg}`);
  check(jwks.keys.some((k) => k.kid === header.kid), `id_token kid ${header.kid} not in jwks`);
  check(payload.iss === issuer, `id_token iss ${payload.iss}`);
  check(payload.aud === CLIENT_ID || (Array.isArray(payload.aud) && payload.aud.includes(CLIENT_ID)), `id_token aud ${payload.aud}`);
  check(payload.sub === 'ann', `id_token sub ${payload.sub}`);
  check(payload.nonce === nonce, `id_token nonce ${payload.nonce} != ${nonce}`);
  check(payload.email === 'ann@example.com', `id_token email ${payload.email}`);
  check(payload.email_verified === true, `id_token email_verified ${payload.email_verified}`);
  check(payload.name === 'Ann Archer', `id_token name ${payload.name}`);
  check(payload.preferred_username === 'ann', `id_token preferred_username ${payload.preferred_username}`);
  check(JSON.stringify(payload.roles) === JSON.stringify(['archive-admins']), `id_token roles ${JSON.stringify(payload.roles)}`);

  // Verify the signature with the published key.
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  const [h64, p64, s64] = tokens.id_token.split('.');
  const sigOk = crypto.verify('RSA-SHA256', Buffer.from(`${h64}.${p64}`), crypto.createPublicKey({ key: jwk, format: 'jwk' }), Buffer.from(s64, 'base64url'));
  check(sigOk, 'id_token signature does not verify against jwks');

  // Code is single-use.
  tres = await fetch(discovery.token_endpoint, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: tokenBody,
  });
  check(tres.status === 400, `re-used code: expected 400, got ${tres.status}`);

  // --- bob, token exchange with client_secret_post ---
  {
    const s = await loginAndGetCode(discovery, 'bob');
    tres = await fetch(discovery.token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: s.code,
        redirect_uri: REDIRECT_URI,
        code_verifier: s.verifier,
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
      }),
    });
    const t = await tres.json();
    check(tres.ok, `bob token (client_secret_post): HTTP ${tres.status}: ${JSON.stringify(t)}`);
    const { payload: p } = decodeJwtPayload(t.id_token);
    check(p.sub === 'bob' && p.email === 'bob@example.com' && p.email_verified === false
      && p.name === 'Bob Baker' && p.preferred_username === 'bob' && p.nonce === s.nonce
      && Array.isArray(p.roles) && p.roles.length === 0, `bob id_token claims wrong: ${JSON.stringify(p)}`);
  }

  // --- wrong client secret refused ---
  {
    const s = await loginAndGetCode(discovery, 'ann');
    tres = await fetch(discovery.token_endpoint, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${CLIENT_ID}:wrong`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({
        grant_type: 'authorization_code', code: s.code, redirect_uri: REDIRECT_URI, code_verifier: s.verifier,
      }),
    });
    const err = await tres.json();
    check(tres.status === 401 && err.error === 'invalid_client', `wrong secret: expected 401 invalid_client, got ${tres.status} ${JSON.stringify(err)}`);
  }

  // --- PKCE is enforced: wrong verifier refused, missing challenge refused ---
  {
    const s = await loginAndGetCode(discovery, 'bob');
    tres = await fetch(discovery.token_endpoint, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code', code: s.code, redirect_uri: REDIRECT_URI, code_verifier: b64url(crypto.randomBytes(32)),
      }),
    });
    const err = await tres.json();
    check(tres.status === 400 && err.error === 'invalid_grant', `wrong verifier: expected 400 invalid_grant, got ${tres.status} ${JSON.stringify(err)}`);
  }
  {
    const jar2 = new CookieJar();
    const u = new URL(discovery.authorization_endpoint);
    u.search = new URLSearchParams({
      response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, scope: 'openid', state: 'x', nonce: 'y',
    }).toString();
    res = await request(jar2, u);
    const loc = res.headers.get('location') ?? '';
    check(loc.startsWith(REDIRECT_URI) && new URL(loc).searchParams.get('error') === 'invalid_request',
      `authorize without code_challenge: expected redirect with error=invalid_request, got ${res.status} ${loc}`);
  }

  console.log('SMOKE OK');
}

let exitCode = 0;
try {
  await main();
} catch (err) {
  console.error(`SMOKE FAILED: ${err.message}`);
  if (!verbose && providerStderr) console.error(`--- provider stderr ---\n${providerStderr}`);
  exitCode = 1;
} finally {
  await stopProvider();
}
process.exit(exitCode);
