// @node-saml/node-saml as an independent SAML service provider for the interoperability tests
// of Gatehouse's SAML IdP (Access for SaaS, internal/saas/samlidp).
//
//   node sp.js --idp-sso URL --idp-issuer ENTITY_ID --idp-cert FILE [--idp-cert FILE ...]
//
// It listens on 127.0.0.1 on a free port and prints one JSON line {"url": "http://127.0.0.1:PORT"}
// when ready. Its entity ID is URL + "/metadata" and its ACS is URL + "/acs".
//
//   GET  /login                 302 to the IdP with an AuthnRequest (HTTP-Redirect binding)
//   GET  /login?binding=post    an HTML form that posts the AuthnRequest (HTTP-POST binding)
//   POST /acs                   validates the SAMLResponse: 200 {"nameID", "nameIDFormat",
//                               "relayState", "attributes"} or 403 {"error"}
//
// Both the Response and the Assertion must be signed by one of the given certificates;
// InResponseTo, when present, must name a request this process made and not yet answered
// (IdP-initiated responses carry none). It exits when its standard input closes.
"use strict";

const fs = require("fs");
const http = require("http");
const querystring = require("querystring");
const { SAML } = require("@node-saml/node-saml");
// One request-ID cache for both bindings (the package does not export the class from its root).
const { InMemoryCacheProvider } = require("@node-saml/node-saml/lib/in-memory-cache-provider");

function parseArgs(argv) {
  const out = { "idp-cert": [] };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, "");
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`missing value for ${argv[i]}`);
    if (key === "idp-cert") out[key].push(value);
    else out[key] = value;
  }
  for (const k of ["idp-sso", "idp-issuer"]) {
    if (!out[k]) throw new Error(`--${k} is required`);
  }
  if (out["idp-cert"].length === 0) throw new Error("--idp-cert is required");
  return out;
}

const MAX_BODY = 1 << 20;

function readBody(req) {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks = [];
    req.on("data", (c) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error("body too large"));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function send(res, status, body) {
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify(body));
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const idpCert = args["idp-cert"].map((f) => fs.readFileSync(f, "utf8"));
  const server = http.createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${server.address().port}`;

  const cacheProvider = new InMemoryCacheProvider({ keyExpirationPeriodMs: 10 * 60 * 1000 });
  const options = {
    entryPoint: args["idp-sso"],
    idpIssuer: args["idp-issuer"],
    idpCert,
    issuer: `${base}/metadata`,
    audience: `${base}/metadata`,
    callbackUrl: `${base}/acs`,
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: true,
    identifierFormat: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    disableRequestedAuthnContext: true,
    validateInResponseTo: "ifPresent",
    cacheProvider,
  };
  const samlRedirect = new SAML(options);
  const samlPost = new SAML({ ...options, authnRequestBinding: "HTTP-POST" });

  server.on("request", async (req, res) => {
    try {
      const url = new URL(req.url, base);
      if (req.method === "GET" && url.pathname === "/login") {
        const relayState = url.searchParams.get("relay") || "";
        if (url.searchParams.get("binding") === "post") {
          const form = await samlPost.getAuthorizeFormAsync(relayState, undefined, {});
          res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
          res.end(form);
          return;
        }
        const location = await samlRedirect.getAuthorizeUrlAsync(relayState, undefined, {});
        res.writeHead(302, { Location: location });
        res.end();
        return;
      }
      if (req.method === "POST" && url.pathname === "/acs") {
        const form = querystring.parse(await readBody(req));
        let result;
        try {
          result = await samlRedirect.validatePostResponseAsync({
            SAMLResponse: form.SAMLResponse,
            RelayState: form.RelayState,
          });
        } catch (err) {
          send(res, 403, { error: String((err && err.message) || err) });
          return;
        }
        const p = result.profile || {};
        send(res, 200, {
          nameID: p.nameID,
          nameIDFormat: p.nameIDFormat,
          relayState: form.RelayState || "",
          attributes: p.attributes || {},
        });
        return;
      }
      send(res, 404, { error: "not found" });
    } catch (err) {
      send(res, 500, { error: String((err && err.stack) || err) });
    }
  });

  process.stdout.write(JSON.stringify({ url: base }) + "\n");
  process.stdin.resume();
  process.stdin.on("end", () => process.exit(0));
  process.stdin.on("error", () => process.exit(0));
}

main().catch((err) => {
  process.stderr.write(String((err && err.stack) || err) + "\n");
  process.exit(1);
});
