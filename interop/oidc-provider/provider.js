// An independent OpenID Provider for Gatehouse's interoperability tests: panva's oidc-provider
// (OpenID Certified) with its development login and consent pages. The Go test
// (internal/identity/oidc, TestInteropOIDCProvider) starts it with this package's Node binary,
// reads one JSON line {"issuer": ...} from stdout, logs in through it, and closes stdin, which
// stops the process. It listens on 127.0.0.1 only, on a port the kernel picks.
//
// Environment: GATEHOUSE_REDIRECT_URI (the relying party's callback URL, required);
// GATEHOUSE_TOKEN_AUTH=post makes client_secret_post the only token endpoint authentication
// (default: client_secret_basic and client_secret_post, the clients registered for basic).
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import http from 'node:http';
import Provider from 'oidc-provider';

const redirectURI = process.env.GATEHOUSE_REDIRECT_URI;
const postOnly = process.env.GATEHOUSE_TOKEN_AUTH === 'post';
const authMethod = postOnly ? 'client_secret_post' : 'client_secret_basic';
if (!redirectURI) {
  console.error('GATEHOUSE_REDIRECT_URI is required');
  process.exit(2);
}

// Accounts: the development login page accepts any login name and password; the login name is
// the account ID, so tests choose the account by the name they type.
const accounts = {
  alice: { email: 'Alice@Example.com', email_verified: true, name: 'Alice Example', groups: ['eng', 'ops'], department: 'R&D' },
  mallory: { email: 'mallory@example.com', email_verified: false, name: 'Mallory', groups: [] },
};

function signingKey(type, options) {
  const { privateKey } = generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig' };
}

const config = {
  clients: [
    {
      client_id: 'gatehouse-rs256',
      client_secret: 'rs256-secret:with%special chars',
      redirect_uris: [redirectURI],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: authMethod,
      id_token_signed_response_alg: 'RS256',
    },
    {
      client_id: 'gatehouse-es256',
      client_secret: 'es256-secret',
      redirect_uris: [redirectURI],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: authMethod,
      id_token_signed_response_alg: 'ES256',
    },
  ],
  clientAuthMethods: postOnly ? ['client_secret_post'] : ['client_secret_basic', 'client_secret_post'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    groups: ['groups', 'department'],
  },
  scopes: ['openid', 'email', 'profile', 'groups'],
  pkce: { required: () => true },
  // Claims come from UserInfo unless the ID token must carry them (OIDC Core §5.4).
  conformIdTokenClaims: true,
  features: {
    devInteractions: { enabled: true },
  },
  // Fresh signing keys at every start: RSA for RS256 and P-256 for ES256 ID tokens.
  jwks: { keys: [signingKey('rsa', { modulusLength: 2048 }), signingKey('ec', { namedCurve: 'P-256' })] },
  enabledJWA: {
    idTokenSigningAlgValues: ['RS256', 'ES256'],
  },
  async findAccount(ctx, id) {
    const claims = accounts[id];
    if (!claims) return undefined;
    return {
      accountId: id,
      async claims() { return { sub: id, ...claims }; },
    };
  },
};

const server = http.createServer();
server.listen(0, '127.0.0.1', async () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, config);
  // Development only: plain-HTTP issuer on loopback.
  provider.proxy = false;
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

// The parent closes stdin (or dies): stop.
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
