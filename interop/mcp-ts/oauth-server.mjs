// An MCP server built with the official TypeScript SDK 1.x and protected with its server-side
// auth helpers, as the upstream of a Gatehouse MCP portal that authorises itself with OAuth
// (TestInteropMCPUpstreamOAuth): requireBearerAuth checks every request's access token by
// introspection (RFC 7662) at the authorization server (interop/oidc-provider/mcp-as.js) and
// that it was issued for this server's resource; mcpAuthMetadataRouter serves the protected
// resource metadata (RFC 9728) naming that authorization server, and 401 answers carry its URL
// in WWW-Authenticate. One HTTP server on 127.0.0.1 (an ephemeral port) serves:
//
//   /mcp    Streamable HTTP, stateless: tool whoami -> "notes:<account>" (the token's subject)
//   /seen   GET: every Authorization value that reached /mcp, for the test's passthrough check
//
// Environment: AS_ISSUER (the authorization server) and RS_SECRET (the secret of its
// introspection client "mcp-rs"), both required. It prints one JSON line
// {"url": "http://127.0.0.1:PORT"} when it listens, and runs until its standard input closes.
import express from 'express';

import { InvalidTokenError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import { getOAuthProtectedResourceMetadataUrl, mcpAuthMetadataRouter } from '@modelcontextprotocol/sdk/server/auth/router.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

const issuer = process.env.AS_ISSUER;
const rsSecret = process.env.RS_SECRET;
if (!issuer || !rsSecret) {
  console.error('oauth-server.mjs: AS_ISSUER and RS_SECRET are required');
  process.exit(2);
}

const meta = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
const seen = { authorization: [] };

const verifier = {
  async verifyAccessToken(token) {
    const res = await fetch(meta.introspection_endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`mcp-rs:${encodeURIComponent(rsSecret)}`).toString('base64')}`,
      },
      body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
    });
    const info = await res.json();
    if (!res.ok || !info.active) {
      throw new InvalidTokenError('Token is not active');
    }
    return {
      token,
      clientId: info.client_id,
      scopes: (info.scope || '').split(' ').filter(Boolean),
      expiresAt: info.exp,
      resource: Array.isArray(info.aud) ? info.aud[0] : info.aud,
      extra: { sub: info.sub },
    };
  },
};

const app = express();
app.use(express.json());
app.get('/seen', (_req, res) => res.json(seen));

const listener = app.listen(0, '127.0.0.1', () => {
  const url = `http://127.0.0.1:${listener.address().port}`;
  const resource = new URL(`${url}/mcp`);
  app.use(mcpAuthMetadataRouter({ oauthMetadata: meta, resourceServerUrl: resource, scopesSupported: ['notes:read'], resourceName: 'Notes' }));
  const auth = requireBearerAuth({ verifier, resourceMetadataUrl: getOAuthProtectedResourceMetadataUrl(resource), expectedResource: resource });
  app.all('/mcp', (req, _res, next) => {
    seen.authorization.push(req.headers.authorization || '');
    next();
  }, auth, async (req, res) => {
    const server = new McpServer({ name: 'ts-notes', version: '1.0.0' });
    server.registerTool('whoami', { description: 'Names the account the token acts for.' }, async (extra) => ({
      content: [{ type: 'text', text: `notes:${extra.authInfo?.extra?.sub}` }],
    }));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      transport.close();
      server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  });
  process.stdout.write(`${JSON.stringify({ url })}\n`);
});

process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
