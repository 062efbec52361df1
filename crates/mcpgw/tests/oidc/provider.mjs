// Test fixture: a real OpenID provider (npm `oidc-provider` 9.x) on 127.0.0.1 that issues
// JWT access tokens through the client_credentials grant, and signs users in through the
// authorization code flow (its development login and consent pages), for mcpgw's
// integration tests.
//
//   node provider.mjs [CONFIG_JSON_PATH]
//
// Config (JSON, every field optional):
//   port     0 (random) or the exact port to listen on
//   alg      "RS256" (default), "PS256", "ES256" or "EdDSA": access-token signing algorithm
//   ttl      access-token lifetime in seconds (default 300)
//   clients  [{ client_id, client_secret, scope: "a b", audience: "aud", claims: {...},
//              redirect_uris: ["http://127.0.0.1/cb"] }]
//            A client with redirect_uris uses the authorization code flow instead (a
//            "native" client: a loopback redirect URI matches on any port, RFC 8252);
//            with `refresh: true` it also gets refresh tokens (no offline_access needed).
//            Such a client's `scope` names the resource scopes it may be granted; a
//            `resource` in its authorization request gets JWT access tokens for it.
//            A client with `token_exchange: true` may also use RFC 8693 token exchange
//            (grant_type urn:ietf:params:oauth:grant-type:token-exchange): a valid
//            access token of this provider (subject_token) is exchanged for a JWT for
//            `resource` (or `audience`) with the subject's `sub`, the requested `scope`
//            (default: the subject's), and `act: {sub: <client_id>}` (RFC 8693 §4.1).
//   accounts {"<login>": { claims }}: what the ID token says about a user who signs in
//            with that login on the development login page (any password); claims are
//            released under the scope "groups" (groups, cognito:groups, realm_access,
//            roles), "profile" (name, preferred_username) and "email".
//
// When ready, prints exactly one line to stdout:
//   oidc-provider listening on http://127.0.0.1:PORT
// That URL is the issuer. Everything else (oidc-provider notices included) goes to stderr.
//
// Tokens: POST {issuer}/token, grant_type=client_credentials, client_secret_basic or
// client_secret_post. `resource` is optional: without it the token's `aud` is the client's
// configured `audience`; with it, `aud` is that resource (it must be an absolute URI).
// Without `scope`, the token carries all the client's configured scopes. Every entry of
// `claims` ends up in the access token, overriding the provider's own claims of the same
// name (client_id, sub, aud, ...) when it names one of those.
//
// Test-only endpoints:
//   POST /__test/rotate     new signing key (same alg); JWKS then holds only the new key. 204.
//   GET  /__test/jwks-hits  {"hits": N}: how many times the JWKS endpoint was requested.
//   GET  /__test/exchanges  {"exchanges": N}: how many token exchanges succeeded.
//   GET  /__test/revocations {"revocations": N}: how many token revocation requests
//                           (RFC 7009, POST /token/revocation) arrived.
//
// oidc-provider is loaded from $MCPGW_TEST_OIDC_MODULES (a node_modules directory) when set,
// else by the ordinary resolution from this file.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

// stdout carries only the ready line: oidc-provider prints its notices with console.info.
console.info = console.log = (...args) => console.error(...args);

async function loadModule(name) {
  const modules = process.env.MCPGW_TEST_OIDC_MODULES;
  if (modules) {
    const require = createRequire(path.join(path.resolve(modules), 'noop.js'));
    return import(pathToFileURL(require.resolve(name)).href);
  }
  return import(name);
}

function loadProvider() {
  return loadModule('oidc-provider');
}

const config = process.argv[2] ? JSON.parse(fs.readFileSync(process.argv[2], 'utf8')) : {};
const port = config.port ?? 0;
const alg = config.alg ?? 'RS256';
const ttl = config.ttl ?? 300;
const clients = config.clients ?? [];
const accounts = config.accounts ?? {};
const byId = new Map(clients.map((c) => [c.client_id, c]));

if (!['RS256', 'PS256', 'ES256', 'EdDSA'].includes(alg)) {
  throw new Error(`unsupported alg ${alg}`);
}
if (!Number.isInteger(ttl) || ttl < 1) throw new Error('ttl must be a positive integer');

// Stands for "no resource parameter was sent": mapped to the client's configured audience,
// which then need not be an absolute URI (oidc-provider requires that of resource values).
const DEFAULT_RESOURCE = 'urn:mcpgw-test:client-audience';

function newSigningKey() {
  let pair;
  if (alg === 'ES256') pair = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  else if (alg === 'EdDSA') pair = crypto.generateKeyPairSync('ed25519');
  else pair = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = pair.privateKey.export({ format: 'jwk' });
  return { ...jwk, alg, use: 'sig', kid: `${alg.toLowerCase()}-${crypto.randomBytes(8).toString('hex')}` };
}

// The signing key in use (token exchange signs with it too).
let currentKey = null;

// The public half of a JWK.
function publicJwk(jwk) {
  const { d, p, q, dp, dq, qi, ...rest } = jwk;
  return rest;
}

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
let exchanges = 0;

async function tokenExchange(ctx) {
  const { errors } = await loadProvider();
  const jose = await loadModule('jose');
  const params = ctx.oidc.params;
  if (![ACCESS_TOKEN_TYPE, 'urn:ietf:params:oauth:token-type:jwt'].includes(params.subject_token_type)) {
    throw new errors.InvalidRequest('unsupported subject_token_type');
  }
  let claims;
  try {
    const keys = jose.createLocalJWKSet({ keys: [publicJwk(currentKey)] });
    ({ payload: claims } = await jose.jwtVerify(params.subject_token, keys, { issuer }));
  } catch (error) {
    throw new errors.InvalidGrant(`subject_token is not valid: ${error.message}`);
  }
  const target = params.resource ?? params.audience;
  if (!target) throw new errors.InvalidTarget('resource or audience is required');
  const now = Math.floor(Date.now() / 1000);
  const scope = params.scope ?? claims.scope;
  const clientId = ctx.oidc.client.clientId;
  const token = await new jose.SignJWT({ scope, client_id: clientId, act: { sub: clientId } })
    .setProtectedHeader({ alg, kid: currentKey.kid, typ: 'at+jwt' })
    .setIssuer(issuer)
    .setSubject(claims.sub)
    .setAudience(target)
    .setIssuedAt(now)
    .setExpirationTime(now + ttl)
    .setJti(crypto.randomUUID())
    .sign(await jose.importJWK(currentKey, alg));
  exchanges += 1;
  ctx.body = {
    access_token: token,
    issued_token_type: ACCESS_TOKEN_TYPE,
    token_type: 'Bearer',
    expires_in: ttl,
    scope,
  };
}

function buildProvider(Provider, issuer) {
  currentKey = newSigningKey();
  const provider = new Provider(issuer, {
    jwks: { keys: [currentKey] },
    clients: clients.map((c) => (c.redirect_uris ? {
      client_id: c.client_id,
      client_secret: c.client_secret,
      application_type: 'native',
      grant_types: c.refresh ? ['authorization_code', 'refresh_token'] : ['authorization_code'],
      response_types: ['code'],
      redirect_uris: c.redirect_uris,
      token_endpoint_auth_method: 'client_secret_basic',
    } : {
      client_id: c.client_id,
      client_secret: c.client_secret,
      grant_types: c.token_exchange ? ['client_credentials', TOKEN_EXCHANGE] : ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    clientDefaults: { id_token_signed_response_alg: alg },
    // Scope claims go into the ID token itself, as Keycloak, Cognito and Entra put groups.
    conformIdTokenClaims: false,
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username'],
      email: ['email'],
      groups: ['groups', 'cognito:groups', 'realm_access', 'roles'],
    },
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    findAccount: async (_ctx, sub) => ({
      accountId: sub,
      claims: async () => ({ ...(accounts[sub] ?? {}), sub }),
    }),
    features: {
      devInteractions: { enabled: true },
      revocation: { enabled: true },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // Sign-in clients get an opaque access token (no resource): the ID token is what
        // the gateway reads.
        defaultResource: async (_ctx, client, oneOf) => oneOf
          ?? (byId.get(client.clientId)?.redirect_uris ? undefined : DEFAULT_RESOURCE),
        useGrantedResource: async () => true,
        getResourceServerInfo: async (ctx, resource, client) => {
          const c = byId.get(client.clientId) ?? {};
          // The allowed scopes are the resource server's: oidc-provider only lets a client's
          // own `scope` metadata name the provider's static (OpenID) scopes.
          let { scope } = c;
          if (scope === undefined) {
            scope = ctx.oidc.params.scope ?? '';
          } else if (!ctx.oidc.params.scope) {
            // No scope requested: grant every scope the client is configured with.
            ctx.oidc.params.scope = scope;
          } else {
            const allowed = new Set(scope.split(' '));
            const denied = ctx.oidc.params.scope.split(' ').filter((s) => s && !allowed.has(s));
            if (denied.length) throw new errors.InvalidScope('requested scope is not allowed', denied.join(' '));
          }
          const audience = resource === DEFAULT_RESOURCE ? c.audience : resource;
          if (!audience) throw new errors.InvalidTarget('the client has no audience configured; send a resource');
          return {
            audience,
            scope,
            accessTokenFormat: 'jwt',
            accessTokenTTL: ttl,
            jwt: { sign: { alg } },
          };
        },
      },
    },
    ttl: { ClientCredentials: ttl },
    extraTokenClaims: async (_ctx, token) => byId.get(token.clientId)?.claims,
    formats: {
      customizers: {
        // oidc-provider writes jti, sub, iat, exp, scope, client_id, iss and aud over the
        // extra claims; a claim the test configured explicitly wins over those here.
        jwt: async (_ctx, token, jwt) => {
          Object.assign(jwt.payload, byId.get(token.clientId)?.claims);
        },
      },
    },
  });
  provider.registerGrantType(TOKEN_EXCHANGE, tokenExchange, [
    'subject_token', 'subject_token_type', 'requested_token_type', 'resource', 'audience', 'scope',
    'actor_token', 'actor_token_type',
  ]);
  return provider;
}

const { default: Provider, errors } = await loadProvider();
let current = null; // request handler of the Provider instance in use
let jwksHits = 0;
let revocations = 0;

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  if (url.pathname === '/__test/rotate' && req.method === 'POST') {
    current = buildProvider(Provider, issuer).callback();
    res.writeHead(204).end();
    return;
  }
  if (url.pathname === '/__test/jwks-hits' && req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ hits: jwksHits }));
    return;
  }
  if (url.pathname === '/__test/exchanges' && req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ exchanges }));
    return;
  }
  if (url.pathname === '/__test/revocations' && req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ revocations }));
    return;
  }
  if (url.pathname === '/jwks') jwksHits += 1;
  if (url.pathname === '/token/revocation' && req.method === 'POST') revocations += 1;
  if (!current) {
    res.writeHead(503).end();
    return;
  }
  current(req, res);
});

server.on('error', (err) => {
  console.error(`oidc-provider fixture: ${err.message}`);
  process.exit(1);
});
await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;
current = buildProvider(Provider, issuer).callback();
process.stdout.write(`oidc-provider listening on ${issuer}\n`);

function shutdown() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
