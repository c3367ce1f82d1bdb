// Minimal real OpenID Provider for automated tests (panva/oidc-provider).
// stdout carries exactly one line, `ISSUER=http://127.0.0.1:PORT`; all logs go to stderr.
import * as http from 'node:http';
import { generateKeyPairSync, randomUUID } from 'node:crypto';

// oidc-provider prints NOTICEs with console.info (stdout): keep stdout clean.
console.log = console.info = console.debug = (...args) => console.error(...args);
const { Provider, errors } = await import('oidc-provider');

const { CLIENT_ID, CLIENT_SECRET, REDIRECT_URI } = process.env;
if (!CLIENT_ID || !REDIRECT_URI) {
  console.error('CLIENT_ID and REDIRECT_URI environment variables are required');
  process.exit(2);
}

const API = 'https://api.example.com';
const DEFAULT_LOGIN = { sub: 'user-1', acr: 'urn:test:loa:1', amr: ['pwd'], auth_time: null };
let nextLogin = { ...DEFAULT_LOGIN };
let logins = 0;

function signingKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'RS256', use: 'sig' };
}

function configuration() {
  const client = {
    client_id: CLIENT_ID,
    redirect_uris: [REDIRECT_URI],
    response_types: ['code'],
    grant_types: ['authorization_code'],
    application_type: 'web', // 'web' accepts http://127.0.0.1 for the code flow, exact match
    id_token_signed_response_alg: 'RS256',
    require_auth_time: true, // auth_time in every ID token
    ...(CLIENT_SECRET
      ? { client_secret: CLIENT_SECRET, token_endpoint_auth_method: 'client_secret_basic' }
      : { token_endpoint_auth_method: 'none' }),
  };
  // A second client for the DPoP tests (tests/dpop_provider.rs): client
  // credentials for the resource https://api.example.com, DPoP-bound JWT
  // access tokens (RFC 9068) stamped with the next login's auth_time.
  const dpopClient = {
    client_id: 'dpop-client',
    client_secret: 'dpop-client-secret-0123456789',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
  };
  return {
    clients: [client, dpopClient],
    jwks: { keys: [signingKey()] },
    responseTypes: ['code'],
    pkce: { methods: ['S256'], required: () => true },
    scopes: ['openid', 'profile'],
    claims: {
      // acr, amr, auth_time mapped to the openid scope so every ID token carries them
      openid: ['sub', 'acr', 'amr', 'auth_time'], profile: ['name'], sid: null, iss: null,
    },
    acrValues: ['urn:test:loa:1', 'urn:test:loa:2'],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    features: {
      devInteractions: { enabled: false },
      claimsParameter: { enabled: true },
      userinfo: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      dPoP: { enabled: true },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => undefined,
        useGrantedResource: () => false,
        async getResourceServerInfo(ctx, resource) {
          if (resource !== API) throw new errors.InvalidTarget();
          return { scope: 'api', audience: API, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } };
        },
      },
    },
    async extraTokenClaims(ctx, token) {
      if (token.kind !== 'ClientCredentials') return undefined;
      return { auth_time: nextLogin.auth_time ?? Math.floor(Date.now() / 1000) };
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    cookies: {
      keys: ['oidc-test-fixture-cookie-key-1'],
      // SameSite=None without Secure is rejected by browsers over plain http; lax works for GET.
      long: { httpOnly: true, sameSite: 'lax' },
      short: { httpOnly: true, sameSite: 'lax' },
    },
    ttl: {
      AccessToken: 3600, AuthorizationCode: 60, IdToken: 3600, Interaction: 600, Session: 86400, Grant: 86400,
    },
    async findAccount(ctx, sub) {
      return { accountId: sub, async claims() { return { sub, name: sub }; } };
    },
  };
}

function sendJson(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

async function readJson(req) {
  let raw = '';
  for await (const chunk of req) raw += chunk;
  return raw ? JSON.parse(raw) : {};
}

function applyNextLogin(body) {
  const n = { ...nextLogin };
  if ('sub' in body) {
    if (typeof body.sub !== 'string' || !body.sub) throw new Error('sub must be a non-empty string');
    n.sub = body.sub;
  }
  if ('acr' in body) {
    if (body.acr !== null && typeof body.acr !== 'string') throw new Error('acr must be a string or null');
    n.acr = body.acr;
  }
  if ('amr' in body) {
    if (body.amr !== null && !(Array.isArray(body.amr) && body.amr.every((v) => typeof v === 'string'))) {
      throw new Error('amr must be an array of strings or null');
    }
    n.amr = body.amr;
  }
  if ('auth_time' in body) {
    if (body.auth_time !== null && !Number.isInteger(body.auth_time)) throw new Error('auth_time must be an integer or null');
    n.auth_time = body.auth_time;
  }
  nextLogin = n;
}

async function interaction(provider, req, res) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params, session } = details;
  console.error(`interaction ${details.uid}: prompt=${prompt.name} reasons=${prompt.reasons.join(',')}`);
  let result;
  if (prompt.name === 'login') {
    const now = Math.floor(Date.now() / 1000);
    result = {
      login: {
        accountId: nextLogin.sub,
        ts: nextLogin.auth_time ?? now,
        ...(nextLogin.acr ? { acr: nextLogin.acr } : {}),
        ...(nextLogin.amr ? { amr: nextLogin.amr } : {}),
      },
    };
    logins += 1;
    if (session?.accountId && session.accountId !== nextLogin.sub) {
      // Account switch: the library would answer with an auto-submitting logout <form> (needs a
      // browser). Instead detach this interaction from the old session and drop the session cookie,
      // so the authorization request resumes with a fresh session for the new account.
      delete details.session;
      await details.save(details.exp - now);
      const cookie = provider.cookieName('session');
      res.setHeader('set-cookie', [cookie, `${cookie}.sig`]
        .map((name) => `${name}=; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT; httponly; samesite=lax`));
    }
  } else if (prompt.name === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = prompt.details;
    if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
    if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missingResourceScopes || {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    result = { consent: details.grantId ? {} : { grantId } };
  } else {
    result = { error: 'access_denied', error_description: `unsupported prompt ${prompt.name}` };
  }
  // consent must keep the login result of this authorization request (else prompt=login loops)
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: prompt.name === 'consent' });
}

let provider;
let handler;
const server = http.createServer(async (req, res) => {
  const { pathname } = new URL(req.url, 'http://127.0.0.1');
  try {
    if (pathname === '/test/next-login' && req.method === 'POST') {
      try {
        applyNextLogin(await readJson(req));
      } catch (err) {
        return sendJson(res, 400, { error: String(err.message) });
      }
      return sendJson(res, 200, nextLogin);
    }
    if (pathname === '/test/next-login' && req.method === 'GET') return sendJson(res, 200, nextLogin);
    if (pathname === '/test/logins' && req.method === 'GET') return sendJson(res, 200, { logins });
    if (pathname.startsWith('/interaction/') && req.method === 'GET') {
      return await interaction(provider, req, res);
    }
    return handler(req, res);
  } catch (err) {
    console.error(err instanceof errors.OIDCProviderError ? `${err.name}: ${err.error_description}` : err);
    if (res.headersSent) return res.end();
    const status = err instanceof errors.SessionNotFound ? 400 : 500;
    return sendJson(res, status, { error: err.error || 'server_error', error_description: err.error_description || err.message });
  }
});

server.listen(0, '127.0.0.1', async () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  provider = new Provider(issuer, configuration());
  handler = provider.callback();
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  for (const event of ['grant.error', 'authorization.error', 'userinfo.error']) {
    provider.on(event, (ctx, err) => console.error(event, err.message, err.error_description ?? '', err.error_detail ?? ''));
  }
  try {
    // static clients are validated lazily; fail fast on bad CLIENT_*/REDIRECT_URI values
    if (!await provider.Client.find(CLIENT_ID)) throw new Error('client not loaded');
  } catch (err) {
    console.error('invalid client configuration:', err.error_description || err.message);
    process.exit(1);
  }
  process.stdout.write(`ISSUER=${issuer}\n`);
});

for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { server.close(); process.exit(0); });
