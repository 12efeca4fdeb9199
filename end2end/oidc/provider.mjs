// A real OpenID Connect provider for the end-to-end tests, built on oidc-provider.
//
// Usage: node oidc/provider.mjs
// Env:   OIDC_PORT (default 0 = any free port), OIDC_CLIENT_ID (default sync-recover),
//        OIDC_CLIENT_SECRET (default test-secret),
//        OIDC_REDIRECT_URIS (comma-separated, default http://127.0.0.1:3000/auth/oidc/callback).
// Prints exactly one line `OIDC_READY <issuer>` on stdout once listening; runs until SIGTERM/SIGINT.
// See oidc/README.md for accounts and the login HTTP sequence.

import * as crypto from 'node:crypto';
import * as http from 'node:http';

import Provider from 'oidc-provider';

const PORT = Number.parseInt(process.env.OIDC_PORT ?? '0', 10) || 0;
const HOST = '127.0.0.1';
const CLIENT_ID = process.env.OIDC_CLIENT_ID || 'sync-recover';
const CLIENT_SECRET = process.env.OIDC_CLIENT_SECRET || 'test-secret';
const REDIRECT_URIS = (process.env.OIDC_REDIRECT_URIS || 'http://127.0.0.1:3000/auth/oidc/callback')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const PASSWORD = 'password';

const ACCOUNTS = {
  ann: {
    sub: 'ann',
    email: 'ann@example.com',
    email_verified: true,
    name: 'Ann Archer',
    preferred_username: 'ann',
    roles: ['archive-admins'],
  },
  bob: {
    sub: 'bob',
    email: 'bob@example.com',
    email_verified: false,
    name: 'Bob Baker',
    preferred_username: 'bob',
    roles: [],
  },
};

function findAccount(_ctx, id) {
  if (!Object.hasOwn(ACCOUNTS, id)) return undefined;
  const account = ACCOUNTS[id];
  return {
    accountId: id,
    // The provider filters these by the granted scopes/claims.
    async claims() {
      return structuredClone(account);
    },
  };
}

// Auto-consent: every authorization request of a known client gets a grant with exactly
// the scopes and claims it asked for, so no consent prompt is ever shown.
async function loadExistingGrant(ctx) {
  const { oidc } = ctx;
  const grantId = oidc.result?.consent?.grantId || oidc.session.grantIdFor(oidc.client.clientId);
  let grant = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
  if (!grant || grant.accountId !== oidc.session.accountId) {
    grant = new oidc.provider.Grant({
      clientId: oidc.client.clientId,
      accountId: oidc.session.accountId,
    });
  }
  grant.addOIDCScope(oidc.requestParamOIDCScopes);
  const claims = [...oidc.requestParamClaims].filter(Boolean);
  if (claims.length) grant.addOIDCClaims(claims);
  await grant.save();
  return grant;
}

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = {
  ...privateKey.export({ format: 'jwk' }),
  kid: crypto.randomBytes(8).toString('hex'),
  use: 'sig',
  alg: 'RS256',
};

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[c]);
}

function loginPage(uid, { error, login } = {}) {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Sign in - test OIDC provider</title></head>
<body>
<h1>Sign in</h1>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login" autocomplete="off">
  <label>Login <input type="text" name="login" value="${escapeHtml(login ?? '')}" required autofocus></label>
  <label>Password <input type="password" name="password" required></label>
  <button type="submit">Sign in</button>
</form>
</body>
</html>
`;
}

function send(res, status, body, headers = {}) {
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(body);
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

const server = http.createServer();

let stopping = false;
function stop(signal) {
  if (stopping || !server.listening) process.exit(0); // second signal, or still starting up
  stopping = true;
  console.error(`oidc provider: ${signal}, shutting down`);
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));

await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(PORT, HOST, resolve);
});
const issuer = `http://${HOST}:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    redirect_uris: REDIRECT_URIS,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    // oidc-provider 9.x accepts client_secret_post as well for a client_secret_basic client.
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
  }],
  jwks: { keys: [signingKey] },
  findAccount,
  loadExistingGrant,
  scopes: ['openid', 'email', 'profile', 'roles'],
  claims: {
    openid: ['sub', 'roles'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
    roles: ['roles'],
  },
  // Put scope-requested claims into the ID token too, not only into userinfo.
  conformIdTokenClaims: false,
  pkce: { required: () => true }, // oidc-provider 9.x supports only S256
  responseTypes: ['code'],
  features: {
    devInteractions: { enabled: false },
  },
  interactions: {
    url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
  },
  cookies: {
    keys: ['sync-recover-e2e-oidc-cookie-key-3f9c2a7d51e84b06'],
    // plain http on loopback: never mark cookies Secure
    long: { httpOnly: true, sameSite: 'lax', secure: false },
    short: { httpOnly: true, sameSite: 'lax', secure: false },
  },
  ttl: {
    AccessToken: 600,
    AuthorizationCode: 120,
    IdToken: 600,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
  },
});

// oidc-provider prints a warning to stderr for unhandled server_error; keep them visible.
provider.on('server_error', (_ctx, err) => {
  console.error('oidc-provider server_error:', err);
});

const providerCallback = provider.callback();

async function handleInteraction(req, res, uid, action) {
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (err) {
    send(res, 400, `<!DOCTYPE html><p>interaction not found or expired: ${escapeHtml(err.message)}</p>\n`);
    return;
  }
  if (details.uid !== uid) {
    send(res, 400, '<!DOCTYPE html><p>interaction mismatch</p>\n');
    return;
  }
  const { prompt } = details;

  if (req.method === 'GET' && action === undefined) {
    if (prompt.name === 'login') {
      send(res, 200, loginPage(uid));
      return;
    }
    // Consent is granted automatically (see loadExistingGrant); should not be reached,
    // but finish it anyway so the browser goes back to the client.
    if (prompt.name === 'consent') {
      await provider.interactionFinished(req, res, { consent: {} });
      return;
    }
    send(res, 501, `<!DOCTYPE html><p>prompt ${escapeHtml(prompt.name)} not implemented</p>\n`);
    return;
  }

  if (req.method === 'POST' && action === 'login') {
    const form = await readForm(req);
    const login = (form.get('login') ?? '').trim();
    const password = form.get('password') ?? '';
    if (!Object.hasOwn(ACCOUNTS, login) || password !== PASSWORD) {
      send(res, 200, loginPage(uid, { error: 'Invalid login or password.', login }));
      return;
    }
    await provider.interactionFinished(req, res, {
      login: { accountId: login },
    }, { mergeWithLastSubmission: false });
    return;
  }

  send(res, 405, '<!DOCTYPE html><p>method not allowed</p>\n', { Allow: 'GET, POST' });
}

server.on('request', (req, res) => {
  const { pathname } = new URL(req.url, issuer);
  // Browsers ask for it on every page; a 404 would be a console error in the browser tests.
  if (pathname === '/favicon.ico') {
    res.writeHead(204);
    res.end();
    return;
  }
  const m = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login))?\/?$/.exec(pathname);
  if (m) {
    handleInteraction(req, res, m[1], m[2]).catch((err) => {
      console.error('interaction error:', err);
      if (!res.headersSent) send(res, 500, '<!DOCTYPE html><p>internal error</p>\n');
      else res.end();
    });
    return;
  }
  providerCallback(req, res);
});

process.stdout.write(`OIDC_READY ${issuer}\n`);
