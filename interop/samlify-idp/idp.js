'use strict';
// samlify (https://github.com/tngan/samlify) as an independent SAML 2.0 identity provider for
// Gatehouse's interoperability tests. Started by the Go tests in internal/identity/saml:
//
//   node idp.js --key idp-key.pem --cert idp-cert.pem --sp-metadata sp.xml \
//               --email bob@example.org --name "Bob" --groups ops,dev
//
// It listens on 127.0.0.1 (a free port unless --port is given) and prints one JSON line,
// {"url": "http://127.0.0.1:PORT"}, once it is ready. Endpoints:
//   GET  /metadata  IdP metadata (HTTP-Redirect and HTTP-POST SingleSignOnService)
//   GET  /sso       AuthnRequest over HTTP-Redirect (signature checked when the SP signs)
//   POST /sso       AuthnRequest over HTTP-POST (signature checked when the SP signs)
// There is no login page: the configured user is logged in at once and the browser gets the
// auto-posting form with a SAMLResponse whose Assertion is signed (RSA-SHA256). The Response
// itself is not signed (samlify's default when the SP wants signed assertions).

const http = require('node:http');
const fs = require('node:fs');
const crypto = require('node:crypto');
const saml = require('samlify');

function parseArgs(argv) {
  const out = { port: '0', name: '', groups: '' };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i];
    if (!k.startsWith('--') || i + 1 >= argv.length) {
      throw new Error(`bad argument ${k}`);
    }
    out[k.slice(2).replace(/-([a-z])/g, (_, c) => c.toUpperCase())] = argv[i + 1];
  }
  for (const req of ['key', 'cert', 'spMetadata', 'email']) {
    if (!out[req]) throw new Error(`--${req} is required`);
  }
  return out;
}

const args = parseArgs(process.argv.slice(2));
const MAX_BODY = 1 << 20;

// The tests exercise Gatehouse, not samlify's XSD validation (which needs Java or xmllint).
saml.setSchemaValidator({ validate: async () => 'skipped in the test IdP' });

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function attributeStatement(user) {
  const attr = (name, values) =>
    `<saml:Attribute Name="${esc(name)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">` +
    values.map((v) => `<saml:AttributeValue xsi:type="xs:string">${esc(v)}</saml:AttributeValue>`).join('') +
    '</saml:Attribute>';
  const parts = [attr('email', [user.email])];
  if (user.name) parts.push(attr('displayName', [user.name]));
  if (user.groups.length) parts.push(attr('groups', user.groups));
  return `<saml:AttributeStatement>${parts.join('')}</saml:AttributeStatement>`;
}

function main() {
  const user = {
    email: args.email,
    name: args.name,
    groups: args.groups ? args.groups.split(',') : [],
  };
  const sp = saml.ServiceProvider({
    metadata: fs.readFileSync(args.spMetadata),
    wantMessageSigned: false,
  });
  let idp; // created once the port is known

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      res.writeHead(400, { 'Content-Type': 'text/plain' });
      res.end(`samlify IdP: ${err && err.message ? err.message : err}\n`);
    });
  });

  async function handle(req, res) {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (req.method === 'GET' && url.pathname === '/metadata') {
      res.writeHead(200, { 'Content-Type': 'application/samlmetadata+xml' });
      res.end(idp.getMetadata());
      return;
    }
    if (url.pathname !== '/sso') {
      res.writeHead(404);
      res.end();
      return;
    }
    let parsed;
    let relayState;
    if (req.method === 'GET') {
      // The signature covers the raw query octets SAMLRequest, RelayState, SigAlg, in order.
      const raw = req.url.slice(req.url.indexOf('?') + 1).split('&');
      const pick = (k) => raw.find((p) => p.startsWith(k + '='));
      const octetString = ['SAMLRequest', 'RelayState', 'SigAlg'].map(pick).filter(Boolean).join('&');
      const query = Object.fromEntries(url.searchParams);
      relayState = query.RelayState;
      parsed = await idp.parseLoginRequest(sp, 'redirect', { query, octetString });
    } else if (req.method === 'POST') {
      const body = Object.fromEntries(new URLSearchParams(await readBody(req)));
      relayState = body.RelayState;
      parsed = await idp.parseLoginRequest(sp, 'post', { body });
    } else {
      res.writeHead(405);
      res.end();
      return;
    }
    const requestID = parsed.extract.request.id;
    const out = await idp.createLoginResponse(sp, parsed, 'post', user, (template) => {
      const now = new Date();
      const later = new Date(now.getTime() + 5 * 60 * 1000);
      const id = '_' + crypto.randomBytes(20).toString('hex');
      const acs = sp.entityMeta.getAssertionConsumerService(saml.Constants.wording.binding.post);
      const values = {
        ID: id,
        AssertionID: '_' + crypto.randomBytes(20).toString('hex'),
        Destination: acs,
        Audience: sp.entityMeta.getEntityID(),
        SubjectRecipient: acs,
        Issuer: idp.entityMeta.getEntityID(),
        IssueInstant: now.toISOString(),
        StatusCode: saml.Constants.StatusCode.Success,
        ConditionsNotBefore: now.toISOString(),
        ConditionsNotOnOrAfter: later.toISOString(),
        SubjectConfirmationDataNotOnOrAfter: later.toISOString(),
        NameIDFormat: saml.Constants.namespace.format.emailAddress,
        NameID: user.email,
        InResponseTo: requestID,
        AuthnStatement:
          `<saml:AuthnStatement AuthnInstant="${now.toISOString()}" SessionIndex="_s${crypto.randomBytes(8).toString('hex')}">` +
          '<saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport' +
          '</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>',
        AttributeStatement: attributeStatement(user),
      };
      let context = template;
      for (const [k, v] of Object.entries(values)) {
        const raw = k === 'AuthnStatement' || k === 'AttributeStatement';
        context = context.split(`{${k}}`).join(raw ? v : esc(v));
      }
      return { id, context };
    }, false, relayState);
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(
      `<html><body><form method="post" action="${esc(out.entityEndpoint)}">` +
        `<input type="hidden" name="SAMLResponse" value="${esc(out.context)}" />` +
        `<input type="hidden" name="RelayState" value="${esc(relayState || '')}" />` +
        '<input type="submit" value="Continue" /></form>' +
        // Like a real IdP, submit at once (browser tests); HTTP-client tests just read the form.
        '<script>document.forms[0].submit();</script></body></html>',
    );
  }

  server.listen(Number(args.port), '127.0.0.1', () => {
    const base = `http://127.0.0.1:${server.address().port}`;
    idp = saml.IdentityProvider({
      entityID: `${base}/metadata`,
      privateKey: fs.readFileSync(args.key),
      signingCert: fs.readFileSync(args.cert),
      wantAuthnRequestsSigned: true,
      isAssertionEncrypted: false,
      nameIDFormat: [saml.Constants.namespace.format.emailAddress],
      requestSignatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
      singleLogoutService: [{ Binding: saml.Constants.namespace.binding.redirect, Location: `${base}/slo` }],
      singleSignOnService: [
        { Binding: saml.Constants.namespace.binding.redirect, Location: `${base}/sso` },
        { Binding: saml.Constants.namespace.binding.post, Location: `${base}/sso` },
      ],
    });
    process.stdout.write(JSON.stringify({ url: base }) + '\n');
  });
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

// The test harness closes stdin when it is done: exit then, so no IdP outlives its test.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();

main();
