package console

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/ai/promptlog"
	"github.com/gatehouse/gatehouse/internal/dlp"
)

// nodePath returns the node binary, skipping the test loudly without one (failing under CI).
func nodePath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("node is not installed; the prompt log viewer's decryption is not checked")
		}
		t.Skip("SKIPPED: node is not installed; the prompt log viewer's decryption was not checked against Go's encryption")
	}
	return p
}

// TestPromptLogScriptOpensGoPayloads runs the prompt log viewer's script (assets/promptlog.js,
// the code the browser runs) in Node against payloads sealed by Go's prompt log writer: it
// recovers every payload exactly (ASCII, Unicode, empty, a long text across many ChaCha20
// blocks, attachments), accepts `gatehouse dlp keygen` output as the key, and refuses a wrong
// key, a tampered ciphertext and a damaged envelope. The X25519 implementation is also checked
// against RFC 7748's test vector.
func TestPromptLogScriptOpensGoPayloads(t *testing.T) {
	node := nodePath(t)
	pub, priv, err := dlp.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	_, otherPriv, _ := dlp.GenerateKeyPair()
	payloads := []promptlog.Payload{
		{Prompt: "What is the capital of France?"},
		{Prompt: "Résumé · 日本語 · emoji 🚀 and \"quotes\" <b>not html</b>", SystemPrompt: "You are helpful.", Response: "Paris.", ResponsePartial: true},
		{Prompt: ""},
		{Prompt: strings.Repeat("0123456789abcdef", 5000) + "tail", Attachments: []promptlog.Attachment{{Name: "q3.xlsx", ContentType: "application/vnd.ms-excel", Size: 12345, SHA256: strings.Repeat("ab", 32)}}},
	}
	type vector struct {
		Key     string `json:"key"`
		Payload string `json:"payload"`
		Want    string `json:"want"` // the payload's JSON, or "error"
	}
	var vectors []vector
	b64 := base64.StdEncoding.EncodeToString
	for _, p := range payloads {
		sealed, err := promptlog.Seal(pub, &p)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(map[string]any{"v": 1, "prompt": p.Prompt, "system_prompt": p.SystemPrompt, "response": p.Response,
			"response_partial": p.ResponsePartial, "attachments": p.Attachments})
		vectors = append(vectors, vector{Key: b64(priv), Payload: b64(sealed), Want: string(want)})
	}
	sealed, _ := promptlog.Seal(pub, &payloads[0])
	keygen := "public_key: " + b64(pub) + "\nprivate_key: " + b64(priv) + "\n"
	want0 := vectors[0].Want
	tampered := append([]byte(nil), sealed...)
	tampered[len(tampered)-20] ^= 1
	vectors = append(vectors,
		vector{Key: keygen, Payload: b64(sealed), Want: want0},
		vector{Key: b64(otherPriv), Payload: b64(sealed), Want: "error"},
		vector{Key: b64(priv), Payload: b64(tampered), Want: "error"},
		vector{Key: b64(priv), Payload: b64(append([]byte{1}, sealed[1:]...)), Want: "error"},
		vector{Key: b64(priv), Payload: b64(sealed[:40]), Want: "error"},
		vector{Key: "bm90IGEga2V5", Payload: b64(sealed), Want: "error"},
	)
	in, _ := json.Marshal(vectors)
	dir := t.TempDir()
	harness := filepath.Join(dir, "harness.js")
	script, err := assetFS.ReadFile("assets/promptlog.js")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(harness, []byte(string(script)+`
(async () => {
  const G = globalThis.GatehousePromptLog;
  const hex = (b) => Buffer.from(b).toString("hex");
  // RFC 7748 section 5.2, first X25519 test vector.
  const k = Buffer.from("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4", "hex");
  const u = Buffer.from("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c", "hex");
  const rfc = hex(G.x25519(k, u)) === "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552" ? "ok" : hex(G.x25519(k, u));
  const vectors = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const out = [];
  for (const v of vectors) {
    try {
      const doc = await G.openPayload(v.key, v.payload);
      out.push(JSON.stringify({v: doc.v, prompt: doc.prompt, system_prompt: doc.system_prompt || "", response: doc.response || "",
        response_partial: !!doc.response_partial, attachments: doc.attachments || null}));
    } catch (e) { out.push("error: " + e.message); }
  }
  process.stdout.write(JSON.stringify({rfc, out}));
})();
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, harness)
	cmd.Stdin = strings.NewReader(string(in))
	outb, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v %s", err, outb)
	}
	var got struct {
		RFC string   `json:"rfc"`
		Out []string `json:"out"`
	}
	if err := json.Unmarshal(outb, &got); err != nil {
		t.Fatalf("node output %q: %v", outb, err)
	}
	if got.RFC != "ok" {
		t.Errorf("X25519 on RFC 7748's vector: %s", got.RFC)
	}
	if len(got.Out) != len(vectors) {
		t.Fatalf("%d results for %d vectors", len(got.Out), len(vectors))
	}
	for i, v := range vectors {
		if v.Want == "error" {
			if !strings.HasPrefix(got.Out[i], "error: ") {
				t.Errorf("vector %d opened, want an error: %.200s", i, got.Out[i])
			}
			continue
		}
		var a, b map[string]any
		_ = json.Unmarshal([]byte(got.Out[i]), &a)
		_ = json.Unmarshal([]byte(v.Want), &b)
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if string(ja) != string(jb) {
			t.Errorf("vector %d:\n got %.300s\nwant %.300s", i, ja, jb)
		}
	}
}
