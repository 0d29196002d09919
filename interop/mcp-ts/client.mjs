// An MCP client built with the official TypeScript SDK 1.x that connects to a Gatehouse MCP
// portal over Streamable HTTP and authorises itself with the SDK's own OAuth client
// (TestInteropMCPTypeScriptClientOAuth): protected resource metadata, authorization server
// metadata, dynamic client registration with a loopback redirect URI, PKCE S256 and the
// resource indicator, as a desktop client does.
//
// Like such a client, it listens for the authorization response on a loopback callback server
// (127.0.0.1, an ephemeral port). Where a desktop client opens the browser, it prints one JSON
// line {"event": "authorize", "url": ...}; the Go test logs in at that URL with its browser,
// which follows the redirect to the callback. The driver then exchanges the code, reconnects,
// lists the tools, calls TOOL with TOOL_ARGS (a JSON object), spoils its access token to make
// the SDK refresh it on the 401 that follows, lists the tools again, and prints one JSON line
// {"event": "result", ...} with every HTTP exchange the SDK made. Any failure is printed as
// {"event": "error", "error": ...} and exits 1.
//
// Environment: PORTAL_URL (the portal's MCP endpoint), TOOL, TOOL_ARGS.
import { createServer } from 'node:http';

import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const portalURL = new URL(process.env.PORTAL_URL);
const tool = process.env.TOOL;
const toolArgs = JSON.parse(process.env.TOOL_ARGS || '{}');

// Every HTTP exchange of the SDK (MCP requests, discovery, registration, token requests):
// method, URL without its query, and status.
const exchanges = [];
async function recordingFetch(input, init) {
  const res = await fetch(input, init);
  const u = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
  exchanges.push(`${init?.method ?? 'GET'} ${u.origin}${u.pathname} ${res.status}`);
  return res;
}

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

// The loopback callback server: resolves with the authorization response's query.
function callbackServer() {
  let resolveCode, rejectCode;
  const code = new Promise((resolve, reject) => {
    resolveCode = resolve;
    rejectCode = reject;
  });
  const server = createServer((req, res) => {
    const q = new URL(req.url, 'http://127.0.0.1').searchParams;
    if (q.get('code')) {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('Authorised: you can close this window.');
      resolveCode({ code: q.get('code'), state: q.get('state'), iss: q.get('iss') });
    } else {
      res.writeHead(400, { 'Content-Type': 'text/plain' }).end('Authorisation failed.');
      rejectCode(new Error(`authorization response without a code: ${q.toString()}`));
    }
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ server, code, redirect: `http://127.0.0.1:${server.address().port}/callback` }));
  });
}

// An in-memory OAuthClientProvider (the SDK's interface), recording what the SDK did with it.
class Provider {
  constructor(redirect) {
    this.redirect = redirect;
    this.seen = { registered: false, tokensSaved: 0, authorizationURL: '' };
  }
  get redirectUrl() {
    return this.redirect;
  }
  get clientMetadata() {
    return {
      client_name: 'Gatehouse interop (TypeScript SDK)',
      redirect_uris: [this.redirect],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  clientInformation() {
    return this.client;
  }
  saveClientInformation(info) {
    this.client = info;
    this.seen.registered = true;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens) {
    this.saved = tokens;
    this.seen.tokensSaved++;
  }
  redirectToAuthorization(url) {
    this.seen.authorizationURL = url.toString();
    emit({ event: 'authorize', url: url.toString() });
  }
  saveCodeVerifier(v) {
    this.verifier = v;
  }
  codeVerifier() {
    if (!this.verifier) throw new Error('no code verifier saved');
    return this.verifier;
  }
}

async function main() {
  const cb = await callbackServer();
  const provider = new Provider(cb.redirect);
  const newClient = () => new Client({ name: 'gatehouse-interop-ts', version: '1.0.0' });

  // The first connection meets the portal's 401 and starts the authorization.
  let transport = new StreamableHTTPClientTransport(portalURL, { authProvider: provider, fetch: recordingFetch });
  let client = newClient();
  let first = 'connected';
  try {
    await client.connect(transport);
  } catch (err) {
    if (!(err instanceof UnauthorizedError)) throw err;
    first = 'unauthorized';
  }
  if (first !== 'unauthorized') throw new Error('the portal let an unauthorised client connect');
  const response = await Promise.race([
    cb.code,
    new Promise((_, reject) => setTimeout(() => reject(new Error('no authorization response within 30s')), 30000)),
  ]);
  cb.server.close();
  await transport.finishAuth(response.code);

  transport = new StreamableHTTPClientTransport(portalURL, { authProvider: provider, fetch: recordingFetch });
  client = newClient();
  await client.connect(transport);
  const server = client.getServerVersion();
  const listed = await client.listTools();
  const call = await client.callTool({ name: tool, arguments: toolArgs });

  // An access token the portal no longer accepts: the SDK refreshes it on the 401 and retries.
  const before = provider.saved;
  provider.saved = { ...before, access_token: before.access_token + 'x' };
  const relisted = await client.listTools();
  const refreshed = provider.saved.access_token !== before.access_token + 'x' && provider.saved.access_token !== before.access_token;
  await client.close();

  emit({
    event: 'result',
    server,
    protocolVersion: transport.protocolVersion ?? '',
    clientID: provider.client?.client_id ?? '',
    registered: provider.seen.registered,
    authorizationURL: provider.seen.authorizationURL,
    callbackIss: response.iss ?? '',
    tokenType: before.token_type,
    scope: before.scope ?? '',
    hasRefreshToken: Boolean(before.refresh_token),
    tokensSaved: provider.seen.tokensSaved,
    refreshed,
    tools: listed.tools.map((t) => t.name),
    toolsAfterRefresh: relisted.tools.map((t) => t.name),
    call,
    exchanges,
  });
}

main().then(
  () => process.exit(0),
  (err) => {
    emit({ event: 'error', error: String(err && err.stack ? err.stack : err) });
    process.exit(1);
  },
);
