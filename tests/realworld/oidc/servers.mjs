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
//
// Environment: OIDC_USER, OIDC_PASSWORD (the one account), EXPIRING_TTL (seconds, default 8).

import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';

import Provider from 'oidc-provider';

const require = createRequire(import.meta.url);
const express = require('express');
const { auth, requiresAuth } = require('express-openid-connect');

const USER = process.env.OIDC_USER || 'alice';
const PASSWORD = process.env.OIDC_PASSWORD || 'wonderland';
const EXPIRING_TTL = Number(process.env.EXPIRING_TTL || 8);
const VARIANTS = ['control', 'strict', 'expiring', 'expiring-json'];

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
    async findAccount(_ctx, id) {
      if (id !== USER) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, name: id }) };
    },
    claims: { openid: ['sub'], profile: ['name'] },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: { devInteractions: { enabled: false } },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    ttl: {
      AccessToken: (_ctx, _token, client) => (client?.clientId.startsWith('rp-expiring') ? EXPIRING_TTL : 3600),
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 3600,
      Session: 86400,
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

  for (const name of VARIANTS) {
    const rp = express();
    rp.disable('x-powered-by');
    rp.use(auth({
      issuerBaseURL: idpUrl,
      baseURL: rpUrls[name],
      clientID: `rp-${name}`,
      clientSecret,
      secret: randomBytes(32).toString('hex'),
      authRequired: false,
      errorOnRequiredAuth: true, // an unauthenticated /profile answers 401 rather than redirecting
      enableTelemetry: false,
      authorizationParams: { response_type: 'code', scope: 'openid profile' },
      ...(name === 'strict' ? { transactionCookie: { sameSite: 'Strict' } } : {}),
    }));
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

  process.stdout.write(`${JSON.stringify({ idp: idpUrl, rp: rpUrls })}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`);
  process.exit(1);
});
