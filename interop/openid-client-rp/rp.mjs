// panva/openid-client 6.x as the relying party of Gatehouse's OIDC provider for SaaS apps.
// Started by TestInteropOpenIDClient (internal/saas/oidcop) with:
//   ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, and AUTH = basic | post | none
// It does discovery, the authorization code flow with PKCE S256, state and nonce (following the
// browser redirects itself, login page included, with a one-cookie jar), ID token validation,
// userinfo and a refresh; then checks that reusing the rotated-out refresh token fails and
// revokes the family. It prints one JSON line with what it saw and exits 0, or prints the error
// and exits 1.
import * as client from 'openid-client';

const { ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, AUTH } = process.env;

// browserLogin fetches url and follows redirects like a browser (keeping cookies) until the
// provider redirects to REDIRECT_URI; it returns that URL.
async function browserLogin(url) {
  const cookies = new Map();
  for (let i = 0; i < 8; i++) {
    const headers = {};
    if (cookies.size > 0) {
      headers.cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    }
    const res = await fetch(url, { redirect: 'manual', headers, signal: AbortSignal.timeout(10000) });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair.indexOf('=');
      cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    const loc = res.headers.get('location');
    if (res.status < 300 || res.status > 399 || !loc) {
      throw new Error(`no redirect from ${url}: ${res.status} ${(await res.text()).slice(0, 300)}`);
    }
    const next = new URL(loc, url);
    if (next.href.startsWith(REDIRECT_URI)) {
      return next;
    }
    url = next.href;
  }
  throw new Error('too many redirects');
}

async function expectError(what, promise) {
  try {
    await promise;
  } catch (err) {
    return err.error || err.code || err.message;
  }
  throw new Error(`${what} succeeded, want an error`);
}

async function main() {
  const auth = {
    basic: () => client.ClientSecretBasic(CLIENT_SECRET),
    post: () => client.ClientSecretPost(CLIENT_SECRET),
    none: () => client.None(),
  }[AUTH]();
  const config = await client.discovery(new URL(ISSUER), CLIENT_ID, undefined, auth, {
    execute: [client.allowInsecureRequests], // the test provider listens on http://127.0.0.1
  });

  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const authURL = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: 'openid email profile groups offline_access',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  const callback = await browserLogin(authURL.href);
  // Checks state, iss (RFC 9207), the code exchange, the ID token (signature from jwks, iss,
  // aud, exp, iat, nonce).
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);

  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  const refreshedClaims = refreshed.claims();
  const userinfo2 = await client.fetchUserInfo(config, refreshed.access_token, claims.sub);
  const reuseError = await expectError('reusing the rotated-out refresh token', client.refreshTokenGrant(config, tokens.refresh_token));
  const familyError = await expectError('refreshing after a reuse', client.refreshTokenGrant(config, refreshed.refresh_token));

  console.log(JSON.stringify({
    sub: claims.sub,
    email: claims.email,
    groups: claims.groups,
    nonce: claims.nonce === nonce,
    userinfo,
    refreshedSub: refreshedClaims && refreshedClaims.sub,
    rotated: refreshed.refresh_token !== tokens.refresh_token,
    userinfoAfterRefresh: userinfo2.sub,
    reuseError,
    familyError,
  }));
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err, err && err.cause ? err.cause : '');
  process.exit(1);
});
