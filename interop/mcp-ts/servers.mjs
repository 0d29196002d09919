// MCP servers built with the official TypeScript SDK 1.x, as upstreams of a Gatehouse MCP portal
// (TestInteropMCPTypeScriptUpstreams). One HTTP server on 127.0.0.1 (an ephemeral port) serves:
//
//   /calc/mcp     Streamable HTTP, stateful (the SDK issues an Mcp-Session-Id per client):
//                 tool add {a, b} -> text "sum: N" and structuredContent {sum: N}
//   /legacy/sse   the legacy HTTP+SSE transport (SSEServerTransport; messages are POSTed to
//                 /legacy/messages?sessionId=...): tool echo {text} -> "legacy echo: <text>"
//   /vault/mcp    Streamable HTTP, stateless, answering 401 unless the request carries
//                 "Authorization: Bearer $VAULT_TOKEN": tool lookup {key} -> "vault: <key> = 42"
//   /seen         GET: what reached the servers (Authorization values, the portal credential
//                 headers, the transports used), for the test to check that nothing of the
//                 portal's client was passed on.
//
// It prints one JSON line {"url": "http://127.0.0.1:PORT"} when it listens, and runs until its
// standard input closes (the Go test ending) or it is killed.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';

import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

const vaultToken = process.env.VAULT_TOKEN;
if (!vaultToken) {
  console.error('servers.mjs: VAULT_TOKEN is required');
  process.exit(2);
}

const seen = { authorization: [], portalHeaders: [], paths: [] };

function calcServer() {
  const s = new McpServer({ name: 'ts-calc', version: '1.0.0' });
  s.registerTool(
    'add',
    {
      description: 'Adds two numbers.',
      inputSchema: { a: z.number(), b: z.number() },
      outputSchema: { sum: z.number() },
    },
    async ({ a, b }) => ({
      content: [{ type: 'text', text: `sum: ${a + b}` }],
      structuredContent: { sum: a + b },
    }),
  );
  return s;
}

function legacyServer() {
  const s = new McpServer({ name: 'ts-legacy', version: '1.0.0' });
  s.registerTool('echo', { description: 'Echoes text.', inputSchema: { text: z.string() } }, async ({ text }) => ({
    content: [{ type: 'text', text: `legacy echo: ${text}` }],
  }));
  return s;
}

function vaultServer() {
  const s = new McpServer({ name: 'ts-vault', version: '1.0.0' });
  s.registerTool('lookup', { description: 'Looks a key up.', inputSchema: { key: z.string() } }, async ({ key }) => ({
    content: [{ type: 'text', text: `vault: ${key} = 42` }],
  }));
  return s;
}

async function readJSON(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const raw = Buffer.concat(chunks).toString('utf8');
  return raw === '' ? undefined : JSON.parse(raw);
}

const calcSessions = new Map(); // Mcp-Session-Id -> transport
const legacySessions = new Map(); // sessionId -> SSEServerTransport

async function serveCalc(req, res) {
  const sid = req.headers['mcp-session-id'];
  if (req.method === 'POST') {
    const body = await readJSON(req);
    let transport = sid ? calcSessions.get(sid) : undefined;
    if (!transport) {
      if (sid || !isInitializeRequest(body)) {
        res.writeHead(sid ? 404 : 400, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32000, message: 'no such session' } }));
        return;
      }
      transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => calcSessions.set(id, transport),
      });
      transport.onclose = () => transport.sessionId && calcSessions.delete(transport.sessionId);
      await calcServer().connect(transport);
    }
    await transport.handleRequest(req, res, body);
    return;
  }
  const transport = sid && calcSessions.get(sid);
  if (!transport) {
    res.writeHead(sid ? 404 : 400).end('no such session');
    return;
  }
  await transport.handleRequest(req, res); // GET (stream) or DELETE (end the session)
}

async function serveVault(req, res) {
  if (req.headers.authorization !== `Bearer ${vaultToken}`) {
    res.writeHead(401, { 'WWW-Authenticate': 'Bearer' }).end('unauthorized');
    return;
  }
  if (req.method !== 'POST') {
    res.writeHead(405, { Allow: 'POST' }).end();
    return;
  }
  const body = await readJSON(req);
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
  const server = vaultServer();
  res.on('close', () => {
    transport.close();
    server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res, body);
}

async function serveLegacy(req, res, url) {
  if (url.pathname === '/legacy/sse' && req.method === 'GET') {
    const transport = new SSEServerTransport('/legacy/messages', res);
    legacySessions.set(transport.sessionId, transport);
    res.on('close', () => legacySessions.delete(transport.sessionId));
    await legacyServer().connect(transport);
    return;
  }
  if (url.pathname === '/legacy/messages' && req.method === 'POST') {
    const transport = legacySessions.get(url.searchParams.get('sessionId'));
    if (!transport) {
      res.writeHead(404).end('no such session');
      return;
    }
    await transport.handlePostMessage(req, res);
    return;
  }
  res.writeHead(405).end();
}

const http = createServer(async (req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  if (url.pathname !== '/seen') {
    seen.paths.push(`${req.method} ${url.pathname}`);
    if (req.headers.authorization !== undefined) seen.authorization.push(`${url.pathname} ${req.headers.authorization}`);
    for (const h of Object.keys(req.headers)) {
      if (/client-(id|secret)$/i.test(h)) seen.portalHeaders.push(`${url.pathname} ${h}`);
    }
  }
  try {
    if (url.pathname === '/seen') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(seen));
    } else if (url.pathname === '/calc/mcp') {
      await serveCalc(req, res);
    } else if (url.pathname === '/vault/mcp') {
      await serveVault(req, res);
    } else if (url.pathname.startsWith('/legacy/')) {
      await serveLegacy(req, res, url);
    } else {
      res.writeHead(404).end();
    }
  } catch (err) {
    console.error('servers.mjs:', url.pathname, err);
    if (!res.headersSent) res.writeHead(500).end(String(err));
  }
});

http.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ url: `http://127.0.0.1:${http.address().port}` }));
});
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
