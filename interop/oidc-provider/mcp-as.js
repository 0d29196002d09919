// An independent OAuth 2.1 authorization server protecting an upstream MCP server, for
// Gatehouse's upstream OAuth interoperability test (internal/app,
// TestInteropMCPUpstreamOAuth): panva's oidc-provider with dynamic client registration (RFC
// 7591), resource indicators (RFC 8707: opaque access tokens whose audience is the resource the
// client named), PKCE required, refresh tokens always issued and rotated at every use, token
// introspection (RFC 7662) for the resource server, and the development login and consent pages
// (any login name is an account). The Go test starts it with this package's Node binary, reads
// one JSON line {"issuer": ...} from stdout and closes stdin to stop it. It listens on 127.0.0.1
// only, on a port the kernel picks.
//
// Environment: GATEHOUSE_RS_SECRET, the secret of the resource server's introspection client
// "mcp-rs" (required).
import http from 'node:http';
import Provider from 'oidc-provider';

const rsSecret = process.env.GATEHOUSE_RS_SECRET;
if (!rsSecret) {
  console.error('GATEHOUSE_RS_SECRET is required');
  process.exit(2);
}

const config = {
  clients: [
    {
      // The resource server: it only introspects tokens.
      client_id: 'mcp-rs',
      client_secret: rsSecret,
      grant_types: [],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
  scopes: ['openid', 'offline_access'],
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    registration: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (_ctx, _client, oneOf) => oneOf,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, resourceIndicator) => ({
        scope: 'notes:read',
        audience: resourceIndicator,
        accessTokenTTL: 300,
        accessTokenFormat: 'opaque',
      }),
    },
  },
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: () => true,
  async findAccount(_ctx, id) {
    return { accountId: id, async claims() { return { sub: id }; } };
  },
};

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, config);
  // Development only: plain-HTTP issuer on loopback.
  provider.proxy = false;
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
