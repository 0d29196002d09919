// Fetches URLs through an HTTP proxy with undici's ProxyAgent (what Node's own fetch is built
// on), trusting an extra CA (the gateway's), and prints one JSON line per URL:
// {"url", "status", "headers", "body"} or {"url", "error"}.
//
// Environment: PROXY_URL (http://127.0.0.1:PORT), PROXY_AUTH (user:password, sent as
// Proxy-Authorization: Basic), CA_FILE (PEM), URLS (space-separated), METHOD and BODY
// (optional; BODY is sent with every request).
import { readFileSync } from 'node:fs';
import { ProxyAgent, fetch } from 'undici';

const ca = readFileSync(process.env.CA_FILE, 'utf8');
const agent = new ProxyAgent({
  uri: process.env.PROXY_URL,
  token: 'Basic ' + Buffer.from(process.env.PROXY_AUTH).toString('base64'),
  requestTls: { ca },
});

for (const url of process.env.URLS.split(' ').filter(Boolean)) {
  try {
    const init = { dispatcher: agent, redirect: 'manual', headers: { accept: 'application/json' } };
    if (process.env.METHOD) init.method = process.env.METHOD;
    if (process.env.BODY) init.body = process.env.BODY;
    const res = await fetch(url, init);
    const body = await res.text();
    console.log(JSON.stringify({ url, status: res.status, headers: Object.fromEntries(res.headers), body }));
  } catch (e) {
    console.log(JSON.stringify({ url, error: String(e && e.cause ? e.cause : e) }));
  }
}
await agent.close();
