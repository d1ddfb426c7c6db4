// Real OpenID Connect software for loginprobe's tests, in one process:
// - an identity provider: oidc-provider (panva), on http://localhost:<port>, with a login page that
//   checks one user's password and a consent page ("Continue"), modelled on oidc-provider's own
//   example/routes/express.js;
// - relying parties: express-openid-connect (Auth0) apps on http://127.0.0.1:<port>, one per variant.
// localhost and 127.0.0.1 are different sites, so the way back from the provider is cross-site, as in
// production. Every server listens on port 0; once all listen, one JSON line on stdout names their URLs.
//
// Variants (one relying party each, all registered with the provider):
//   control   code flow, the SDK's defaults (transaction cookie SameSite=Lax)
//   strict    the transaction cookie `auth_verification` forced SameSite=Strict: the browser leaves it
//             off the cross-site redirect back to /callback, and the callback fails
//   expiring  the provider issues access tokens that live EXPIRING_TTL seconds; /profile answers 401
//             (RFC 6750 invalid_token, "expired") once the session's access token has expired
//   expiring-json  the same, but the 401 is a JSON body only ({"error": "access_token_is_expired"}),
//             with no WWW-Authenticate, as many cookie-session apps answer
//   claims-default  the same routes with the SDK's defaults: a refused claim sends the signed-in user to
//             sign in again, the provider signs them in at once, and round it goes until the browser stops
//   claims    /admin guarded by claimEquals('role', 'admin') and /staff by claimIncludes('groups',
//             'admins'); /member by claimEquals('role', 'member'), which the user has (control).
//             With errorOnRequiredAuth the SDK answers a signed-in user without the claim 401
//             "Authentication is required for this route.", exactly as it answers nobody
//   bad-secret  the app's client secret is not the one registered: the provider refuses the token
//             exchange and the app's /callback answers 400 (invalid_client)
//   bad-redirect  the app's callback route moved to /auth/callback, the provider still has /callback
//             registered: the provider shows its error page (redirect_uri mismatch) and never the login
//   short-rp  the SDK's defaults (a protected page redirects to the provider), but the app's session
//             lives RP_SESSION_TTL seconds (absolute); the provider's session lives on
//   short-idp the provider's session lives IDP_SESSION_TTL seconds; the app's session lives on
// Every app also serves /app?api=PATH, a page whose script fetches PATH (the protected request) and
// some third-party noise: an analytics beacon on another site that answers 401 (with a Bearer
// challenge), a tracker script there that answers 403, and the browser's own /favicon.ico (404);
// /app?api=PATH&noise=local puts the same noise on the apps' host at another port (same site).
//
// Environment: OIDC_USER, OIDC_PASSWORD (the one account), EXPIRING_TTL (seconds, default 8),
// RP_SESSION_TTL, IDP_SESSION_TTL (seconds, default 20).

import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';

import Provider from 'oidc-provider';

const require = createRequire(import.meta.url);
const express = require('express');
const { auth, claimEquals, claimIncludes, requiresAuth } = require('express-openid-connect');

const USER = process.env.OIDC_USER || 'alice';
const PASSWORD = process.env.OIDC_PASSWORD || 'wonderland';
const EXPIRING_TTL = Number(process.env.EXPIRING_TTL || 8);
const RP_SESSION_TTL = Number(process.env.RP_SESSION_TTL || 20);
const IDP_SESSION_TTL = Number(process.env.IDP_SESSION_TTL || 20);
const BIG_GROUPS = Number(process.env.BIG_GROUPS || 1200);
const VARIANTS = [
  'control', 'strict', 'expiring', 'expiring-json', 'claims', 'bad-secret', 'bad-redirect', 'short-rp',
  'short-idp', 'big-session', 'claims-default',
];
// What each app differs in from the SDK's defaults (beyond its own client id and URL).
const RP_OPTIONS = {
  control: { errorOnRequiredAuth: true },
  strict: { errorOnRequiredAuth: true, transactionCookie: { sameSite: 'Strict' } },
  expiring: { errorOnRequiredAuth: true },
  'expiring-json': { errorOnRequiredAuth: true },
  claims: { errorOnRequiredAuth: true },
  'bad-secret': { errorOnRequiredAuth: true },
  'bad-redirect': { routes: { callback: '/auth/callback' } },
  'short-rp': { session: { rolling: false, absoluteDuration: RP_SESSION_TTL } },
  'short-idp': {},
  'big-session': { errorOnRequiredAuth: true },
  'claims-default': {},
};

const listen = (host) => new Promise((resolve) => {
  const server = createServer();
  server.listen(0, host, () => resolve(server));
});

const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const page = (title, body) => `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body><div class="login-card"><h1>${escapeHtml(title)}</h1>${body}</div></body></html>`;

const loginPage = (uid, error) => page('Sign-in', `
  ${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
  <form autocomplete="off" action="/interaction/${uid}/login" method="post">
    <input required type="text" name="login" autocomplete="username" placeholder="Username" autofocus>
    <input required type="password" name="password" autocomplete="current-password" placeholder="Password">
    <button type="submit" class="login login-submit">Sign-in</button>
  </form>
  <div class="login-help"><a href="/interaction/${uid}/abort">[ Cancel ]</a></div>`);

const consentPage = (uid, client, details) => page('Authorize', `
  <p>${escapeHtml(client.clientName || client.clientId)} asks for:</p>
  <ul>${(details.missingOIDCScope || []).map((s) => `<li>${escapeHtml(s)}</li>`).join('')}</ul>
  <form autocomplete="off" action="/interaction/${uid}/confirm" method="post">
    <button autofocus type="submit" class="login login-submit">Continue</button>
  </form>
  <div class="login-help"><a href="/interaction/${uid}/abort">[ Cancel ]</a></div>`);

async function main() {
  const idpServer = await listen('localhost');
  // Another site than the apps' (as third-party analytics are), so the apps' cookies never go there.
  const noiseServer = await listen('localhost');
  const noiseUrl = `http://localhost:${noiseServer.address().port}`;
  // The same noise on the apps' own host, another port (same site, another origin): ?noise=local.
  const localNoiseServer = await listen('127.0.0.1');
  const localNoiseUrl = `http://127.0.0.1:${localNoiseServer.address().port}`;
  const rpServers = Object.fromEntries(await Promise.all(
    VARIANTS.map(async (name) => [name, await listen('127.0.0.1')]),
  ));
  const idpUrl = `http://localhost:${idpServer.address().port}`;
  const rpUrls = Object.fromEntries(
    VARIANTS.map((name) => [name, `http://127.0.0.1:${rpServers[name].address().port}`]),
  );
  const clientSecret = randomBytes(24).toString('hex');

  const provider = new Provider(idpUrl, {
    clients: VARIANTS.map((name) => ({
      client_id: `rp-${name}`,
      client_name: `Relying party (${name})`,
      client_secret: clientSecret,
      redirect_uris: [`${rpUrls[name]}/callback`],
      post_logout_redirect_uris: [rpUrls[name]],
      response_types: ['code'],
      grant_types: ['authorization_code'],
    })),
    async findAccount(ctx, id) {
      if (id !== USER) return undefined;
      // For the big-session app the user is in BIG_GROUPS groups (a directory's nested groups), which
      // the ID token, and so the app's session cookie, carries.
      const many = ctx?.oidc?.client?.clientId === 'rp-big-session';
      const groups = many ? Array.from({ length: BIG_GROUPS }, (_, i) => `group-${String(i).padStart(5, '0')}`) : ['staff'];
      return { accountId: id, claims: async () => ({ sub: id, name: id, role: 'member', groups }) };
    },
    claims: { openid: ['sub'], profile: ['name', 'role', 'groups'] },
    // The profile claims go into the ID token too, where express-openid-connect's claim checks read.
    conformIdTokenClaims: false,
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: { devInteractions: { enabled: false } },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    ttl: {
      AccessToken: (_ctx, _token, client) => (client?.clientId.startsWith('rp-expiring') ? EXPIRING_TTL : 3600),
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 3600,
      Session: (_ctx, _session, client) => (client?.clientId === 'rp-short-idp' ? IDP_SESSION_TTL : 86400),
      Grant: 86400,
    },
  });

  const idp = express();
  idp.disable('x-powered-by');
  const form = express.urlencoded({ extended: false });
  const noStore = (_req, res, next) => { res.set('cache-control', 'no-store'); next(); };

  idp.get('/interaction/:uid', noStore, async (req, res, next) => {
    try {
      const { uid, prompt, params } = await provider.interactionDetails(req, res);
      if (prompt.name === 'login') return res.type('html').send(loginPage(uid));
      const client = await provider.Client.find(params.client_id);
      return res.type('html').send(consentPage(uid, client, prompt.details));
    } catch (err) { return next(err); }
  });

  idp.post('/interaction/:uid/login', noStore, form, async (req, res, next) => {
    try {
      const { uid, prompt } = await provider.interactionDetails(req, res);
      if (prompt.name !== 'login') return res.status(400).send('not a login prompt');
      if (req.body.login !== USER || req.body.password !== PASSWORD) {
        return res.status(401).type('html').send(loginPage(uid, 'Invalid username or password.'));
      }
      return await provider.interactionFinished(req, res, { login: { accountId: USER } },
        { mergeWithLastSubmission: false });
    } catch (err) { return next(err); }
  });

  idp.post('/interaction/:uid/confirm', noStore, form, async (req, res, next) => {
    try {
      const details = await provider.interactionDetails(req, res);
      const { prompt: { name, details: missing }, params, session: { accountId } } = details;
      if (name !== 'consent') return res.status(400).send('not a consent prompt');
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId, clientId: params.client_id });
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      const grantId = await grant.save();
      const consent = details.grantId ? {} : { grantId };
      return await provider.interactionFinished(req, res, { consent }, { mergeWithLastSubmission: true });
    } catch (err) { return next(err); }
  });

  idp.get('/interaction/:uid/abort', noStore, async (req, res, next) => {
    try {
      return await provider.interactionFinished(req, res, {
        error: 'access_denied', error_description: 'End-User aborted interaction',
      }, { mergeWithLastSubmission: false });
    } catch (err) { return next(err); }
  });

  idp.use(provider.callback());
  idpServer.on('request', idp);

  // Third-party noise: an analytics origin that refuses the beacon (401) and the tracker (403).
  const noise = (req, res) => {
    const path = new URL(req.url, noiseUrl).pathname;
    res.setHeader('Access-Control-Allow-Origin', '*');
    if (path === '/collect') {
      res.writeHead(401, { 'WWW-Authenticate': 'Bearer realm="analytics"', 'Content-Type': 'text/plain' });
      res.end('unknown site key');
    } else if (path === '/tracker.js') {
      res.writeHead(403, { 'Content-Type': 'text/plain' });
      res.end('forbidden');
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
    }
  };
  noiseServer.on('request', noise);
  localNoiseServer.on('request', noise);

  const appPage = (api, analytics) => `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>App</title>
<script async src="${analytics}/tracker.js"></script></head>
<body><h1>App</h1><pre id="out">loading</pre>
<script>
  fetch(${JSON.stringify(`${analytics}/collect`)}, { method: 'POST', body: 'page=app' }).catch(() => {});
  fetch(${JSON.stringify(api)}, { credentials: 'same-origin' }).then(async (r) => {
    document.getElementById('out').textContent = r.status + ' ' + await r.text();
  });
</script></body></html>`;

  for (const name of VARIANTS) {
    const rp = express();
    rp.disable('x-powered-by');
    rp.use(auth({
      issuerBaseURL: idpUrl,
      baseURL: rpUrls[name],
      clientID: `rp-${name}`,
      // The bad-secret app has a secret of the right shape that the provider never issued.
      clientSecret: name === 'bad-secret' ? randomBytes(24).toString('hex') : clientSecret,
      secret: randomBytes(32).toString('hex'),
      authRequired: false,
      enableTelemetry: false,
      authorizationParams: { response_type: 'code', scope: 'openid profile' },
      // errorOnRequiredAuth: an unauthenticated /profile answers 401 rather than redirecting
      ...RP_OPTIONS[name],
    }));
    rp.get('/app', (req, res) => {
      const analytics = req.query.noise === 'local' ? localNoiseUrl : noiseUrl;
      res.set('Cache-Control', 'no-store').type('html').send(appPage(String(req.query.api || '/profile'), analytics));
    });
    rp.get('/admin', claimEquals('role', 'admin'), (req, res) => res.json({ admin: req.oidc.user.sub }));
    rp.get('/staff', claimIncludes('groups', 'admins'), (req, res) => res.json({ staff: req.oidc.user.sub }));
    rp.get('/member', claimEquals('role', 'member'), (req, res) => res.json({ member: req.oidc.user.sub }));
    rp.get('/', (req, res) => {
      res.type('html').send(page('Home', req.oidc.isAuthenticated()
        ? '<p>Signed in. <a href="/profile">Profile</a></p>'
        : '<p>Not signed in. <a href="/login">Log in</a></p>'));
    });
    rp.get('/profile', requiresAuth(), (req, res) => {
      // The app's own check, as an app that calls an API with the session's access token would do it.
      if (req.oidc.accessToken?.isExpired() && name === 'expiring-json') {
        res.status(401).set('Cache-Control', 'no-store').json({
          error: 'access_token_is_expired',
          message: 'The access token of this session has expired',
        });
        return;
      }
      if (req.oidc.accessToken?.isExpired()) {
        const description = 'The access token expired';
        res.status(401)
          .set('WWW-Authenticate', `Bearer error="invalid_token", error_description="${description}"`)
          .set('Cache-Control', 'no-store')
          .json({ error: 'invalid_token', error_description: description });
        return;
      }
      res.set('Cache-Control', 'no-store').json({ user: req.oidc.user });
    });
    // Errors as a small app reports them: the status the SDK chose and its message as text.
    rp.use((err, _req, res, _next) => {
      res.status(err.status || err.statusCode || 500).type('text').send(err.message || 'error');
    });
    rpServers[name].on('request', rp);
  }

  process.stdout.write(`${JSON.stringify({ idp: idpUrl, rp: rpUrls, noise: noiseUrl })}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`);
  process.exit(1);
});
