// Gatehouse admin console: the AI prompt log viewer's decryption, in the browser.
//
// Prompt logs are sealed with HPKE (RFC 9180) base mode: DHKEM(X25519, HKDF-SHA256),
// HKDF-SHA256 and ChaCha20-Poly1305, info "gatehouse dlp payload v2", in an envelope of one
// version byte (2), the 32-byte encapsulated key and the ciphertext (package dlp). WebCrypto
// has HMAC-SHA256 (used here for HKDF) but no ChaCha20-Poly1305, and X25519 only in recent
// browsers and not from a raw private key, so X25519 (RFC 7748) and ChaCha20-Poly1305
// (RFC 8439) are implemented below. The private key stays in this tab's memory; nothing is
// sent anywhere (the page's Content-Security-Policy allows no connections either).
"use strict";
(function (root) {
  const te = new TextEncoder();

  function concat(...parts) {
    let n = 0;
    for (const p of parts) n += p.length;
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of parts) { out.set(p, o); o += p.length; }
    return out;
  }

  function b64decode(s) {
    const bin = atob(s.replace(/[\s]/g, "").replace(/-/g, "+").replace(/_/g, "/"));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  // --- X25519 (RFC 7748), on BigInt ---
  const P = (1n << 255n) - 19n;
  const A24 = 121665n;
  function mod(a) { const r = a % P; return r < 0n ? r + P : r; }
  function pow(b, e) {
    let r = 1n; b = mod(b);
    while (e > 0n) { if (e & 1n) r = mod(r * b); b = mod(b * b); e >>= 1n; }
    return r;
  }
  function leToBig(b) { let r = 0n; for (let i = b.length - 1; i >= 0; i--) r = (r << 8n) | BigInt(b[i]); return r; }
  function bigToLE(x, n) { const out = new Uint8Array(n); for (let i = 0; i < n; i++) { out[i] = Number(x & 0xffn); x >>= 8n; } return out; }
  function x25519(scalar, u) {
    const k = Uint8Array.from(scalar);
    k[0] &= 248; k[31] &= 127; k[31] |= 64;
    const uu = Uint8Array.from(u); uu[31] &= 127;
    const kn = leToBig(k), x1 = mod(leToBig(uu));
    let x2 = 1n, z2 = 0n, x3 = x1, z3 = 1n, swap = 0n;
    for (let t = 254n; t >= 0n; t--) {
      const kt = (kn >> t) & 1n;
      swap ^= kt;
      if (swap) { [x2, x3] = [x3, x2]; [z2, z3] = [z3, z2]; }
      swap = kt;
      const a = mod(x2 + z2), aa = mod(a * a), b = mod(x2 - z2), bb = mod(b * b), e = mod(aa - bb);
      const c = mod(x3 + z3), d = mod(x3 - z3), da = mod(d * a), cb = mod(c * b);
      x3 = mod((da + cb) ** 2n); z3 = mod(x1 * mod((da - cb) ** 2n));
      x2 = mod(aa * bb); z2 = mod(e * (aa + A24 * e));
    }
    if (swap) { [x2, x3] = [x3, x2]; [z2, z3] = [z3, z2]; }
    return bigToLE(mod(x2 * pow(z2, P - 2n)), 32);
  }
  const BASE = bigToLE(9n, 32);

  // --- HKDF-SHA256 on WebCrypto's HMAC ---
  async function hmac(key, data) {
    const k = await crypto.subtle.importKey("raw", key.length ? key : new Uint8Array(32), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    return new Uint8Array(await crypto.subtle.sign("HMAC", k, data));
  }
  async function expand(prk, info, len) {
    let t = new Uint8Array(0), out = new Uint8Array(0);
    for (let i = 1; out.length < len; i++) {
      t = await hmac(prk, concat(t, info, Uint8Array.of(i)));
      out = concat(out, t);
    }
    return out.slice(0, len);
  }
  const V1 = te.encode("HPKE-v1");
  function i2osp(n, w) { const out = new Uint8Array(w); for (let i = w - 1; i >= 0; i--) { out[i] = n & 0xff; n >>>= 8; } return out; }
  const KEM_SUITE = concat(te.encode("KEM"), i2osp(0x20, 2));
  const HPKE_SUITE = concat(te.encode("HPKE"), i2osp(0x20, 2), i2osp(0x01, 2), i2osp(0x03, 2));
  function labeledExtract(suite, salt, label, ikm) { return hmac(salt, concat(V1, suite, te.encode(label), ikm)); }
  function labeledExpand(suite, prk, label, info, len) { return expand(prk, concat(i2osp(len, 2), V1, suite, te.encode(label), info), len); }

  // --- ChaCha20-Poly1305 (RFC 8439) ---
  function rotl(v, c) { return (v << c) | (v >>> (32 - c)); }
  function chachaBlock(key, counter, nonce) {
    const s = new Uint32Array(16);
    s[0] = 0x61707865; s[1] = 0x3320646e; s[2] = 0x79622d32; s[3] = 0x6b206574;
    const kv = new DataView(key.buffer, key.byteOffset, 32), nv = new DataView(nonce.buffer, nonce.byteOffset, 12);
    for (let i = 0; i < 8; i++) s[4 + i] = kv.getUint32(4 * i, true);
    s[12] = counter;
    for (let i = 0; i < 3; i++) s[13 + i] = nv.getUint32(4 * i, true);
    const x = Uint32Array.from(s);
    function qr(a, b, c, d) {
      x[a] += x[b]; x[d] = rotl(x[d] ^ x[a], 16);
      x[c] += x[d]; x[b] = rotl(x[b] ^ x[c], 12);
      x[a] += x[b]; x[d] = rotl(x[d] ^ x[a], 8);
      x[c] += x[d]; x[b] = rotl(x[b] ^ x[c], 7);
    }
    for (let i = 0; i < 10; i++) {
      qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15);
      qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14);
    }
    const out = new Uint8Array(64), ov = new DataView(out.buffer);
    for (let i = 0; i < 16; i++) ov.setUint32(4 * i, (x[i] + s[i]) >>> 0, true);
    return out;
  }
  function chacha20(key, counter, nonce, data) {
    const out = new Uint8Array(data.length);
    for (let off = 0, c = counter; off < data.length; off += 64, c++) {
      const ks = chachaBlock(key, c, nonce);
      for (let i = 0; i < 64 && off + i < data.length; i++) out[off + i] = data[off + i] ^ ks[i];
    }
    return out;
  }
  const P1305 = (1n << 130n) - 5n;
  function poly1305(key, msg) {
    const r = leToBig(key.slice(0, 16)) & 0x0ffffffc0ffffffc0ffffffc0fffffffn;
    const s = leToBig(key.slice(16, 32));
    let acc = 0n;
    for (let i = 0; i < msg.length; i += 16) {
      const block = msg.slice(i, i + 16);
      const n = leToBig(block) + (1n << BigInt(8 * block.length));
      acc = ((acc + n) * r) % P1305;
    }
    return bigToLE((acc + s) & ((1n << 128n) - 1n), 16);
  }
  function pad16(n) { return new Uint8Array((16 - (n % 16)) % 16); }
  function le64(n) { return bigToLE(BigInt(n), 8); }
  function chachaPolyOpen(key, nonce, ct, aad) {
    if (ct.length < 16) throw new Error("damaged payload");
    const body = ct.slice(0, ct.length - 16), tag = ct.slice(ct.length - 16);
    const polyKey = chachaBlock(key, 0, nonce).slice(0, 32);
    const want = poly1305(polyKey, concat(aad, pad16(aad.length), body, pad16(body.length), le64(aad.length), le64(body.length)));
    let diff = 0;
    for (let i = 0; i < 16; i++) diff |= want[i] ^ tag[i];
    if (diff !== 0) throw new Error("The payload does not decrypt with this private key (wrong key or damaged payload).");
    return chacha20(key, 1, nonce, body);
  }

  // --- HPKE base mode open ---
  const INFO = te.encode("gatehouse dlp payload v2");
  async function open(priv, envelope) {
    if (priv.length !== 32) throw new Error("The private key must be 32 bytes of base64.");
    if (envelope.length < 1 + 32 + 16 || envelope[0] !== 2) throw new Error("Not a prompt log payload.");
    const enc = envelope.slice(1, 33), ct = envelope.slice(33);
    const dh = x25519(priv, enc);
    if (dh.every((b) => b === 0)) throw new Error("Not a prompt log payload.");
    const pkR = x25519(priv, BASE);
    const eaePRK = await labeledExtract(KEM_SUITE, new Uint8Array(0), "eae_prk", dh);
    const shared = await labeledExpand(KEM_SUITE, eaePRK, "shared_secret", concat(enc, pkR), 32);
    const pskIDHash = await labeledExtract(HPKE_SUITE, new Uint8Array(0), "psk_id_hash", new Uint8Array(0));
    const infoHash = await labeledExtract(HPKE_SUITE, new Uint8Array(0), "info_hash", INFO);
    const ctx = concat(Uint8Array.of(0), pskIDHash, infoHash);
    const secret = await labeledExtract(HPKE_SUITE, shared, "secret", new Uint8Array(0));
    const key = await labeledExpand(HPKE_SUITE, secret, "key", ctx, 32);
    const nonce = await labeledExpand(HPKE_SUITE, secret, "base_nonce", ctx, 12);
    return chachaPolyOpen(key, nonce, ct, new Uint8Array(0));
  }

  // parseKey reads the private key: bare base64, or `gatehouse dlp keygen` output.
  function parseKey(text) {
    const m = /private_key:\s*([A-Za-z0-9+/=_-]+)/.exec(text);
    const b64 = (m ? m[1] : text).trim();
    let key;
    try { key = b64decode(b64); } catch (e) { throw new Error("The private key is not base64."); }
    if (key.length !== 32) throw new Error("The private key must be 32 bytes of base64 (the private_key of gatehouse dlp keygen).");
    return key;
  }

  // openPayload decrypts one entry's sealed payload and returns the JSON document inside.
  async function openPayload(keyText, payloadB64) {
    const pt = await open(parseKey(keyText), b64decode(payloadB64));
    const doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(pt));
    if (typeof doc !== "object" || doc === null || doc.v !== 1) throw new Error("Not a prompt log payload of a version this console reads.");
    return doc;
  }

  root.GatehousePromptLog = { open, openPayload, parseKey, x25519 };

  if (typeof document === "undefined") return;

  // --- the page ---
  let keyText = "";
  const status = document.getElementById("pl-status");
  const area = document.getElementById("pl-key");
  const file = document.getElementById("pl-file");
  function say(msg) { if (status) status.textContent = msg; }
  function el(tag, text, cls) { const e = document.createElement(tag); if (cls) e.className = cls; e.textContent = text; return e; }

  function show(li, doc) {
    const plain = li.querySelector(".plain");
    li.querySelector(".pl-prompt").textContent = doc.prompt || "";
    const more = li.querySelector(".pl-more");
    more.replaceChildren();
    if (doc.system_prompt) { more.append(el("h3", "System prompt"), el("pre", doc.system_prompt)); }
    if (doc.response) { more.append(el("h3", doc.response_partial ? "Response (cut short)" : "Response"), el("pre", doc.response)); }
    if (Array.isArray(doc.attachments) && doc.attachments.length) {
      more.append(el("h3", "Attachments"));
      const ul = document.createElement("ul");
      for (const a of doc.attachments) ul.append(el("li", `${a.name} (${a.content_type || "unknown type"}, ${a.size} bytes)${a.sha256 ? " sha256 " + a.sha256 : ""}`));
      more.append(ul);
    }
    if (doc.truncated) more.append(el("p", "The texts were cut to the logged maximum."));
    plain.hidden = false;
    li.querySelector(".sealed").hidden = true;
  }

  async function decryptAll() {
    if (area && area.value.trim()) keyText = area.value;
    if (area) area.value = "";
    if (!keyText) { say("Give the private key first."); return; }
    try { parseKey(keyText); } catch (e) { keyText = ""; say(e.message); return; }
    const items = document.querySelectorAll("li.prompt[data-payload]");
    let ok = 0, failed = 0, lastErr = "";
    for (const li of items) {
      try { show(li, await openPayload(keyText, li.dataset.payload)); ok++; } catch (e) { failed++; lastErr = e.message; }
    }
    say(`${ok} of ${items.length} prompts decrypted in this browser.` + (failed ? ` ${failed} did not open: ${lastErr}` : "") +
      " The key is kept in this tab only until you forget it or leave the page.");
  }

  function forget() {
    keyText = "";
    if (area) area.value = "";
    if (file) file.value = "";
    for (const li of document.querySelectorAll("li.prompt")) {
      const plain = li.querySelector(".plain");
      if (!plain) continue;
      li.querySelector(".pl-prompt").textContent = "";
      li.querySelector(".pl-more").replaceChildren();
      plain.hidden = true;
      li.querySelector(".sealed").hidden = false;
    }
    say("The key and the decrypted text are gone from this page.");
  }

  const btn = document.getElementById("pl-decrypt");
  if (btn) btn.addEventListener("click", () => { decryptAll(); });
  const fb = document.getElementById("pl-forget");
  if (fb) fb.addEventListener("click", forget);
  if (file) file.addEventListener("change", async () => {
    const f = file.files && file.files[0];
    if (!f) return;
    if (f.size > 4096) { say("That file is too large to be a private key."); return; }
    keyText = await f.text();
    file.value = "";
    say("Key loaded. Decrypt to read the prompts.");
  });
  window.addEventListener("pagehide", () => { keyText = ""; });
})(globalThis);
