package main

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"

	"github.com/gatehouse/gatehouse/internal/dlp"
)

// A Slack incoming-webhook URL: a credential with no checksum to compute.
const cliTestSecret = "https://hooks.slack.com/services/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"

func scanCLI(t *testing.T, args ...string) (dlp.Verdict, error) {
	t.Helper()
	out, stderr, err := run(t, append([]string{"dlp", "scan"}, args...)...)
	var v dlp.Verdict
	if jerr := json.Unmarshal([]byte(out), &v); jerr != nil {
		t.Fatalf("dlp scan %v: output is not a verdict: %v\n%s\n%s", args, jerr, out, stderr)
	}
	return v, err
}

func exitStatus(err error) int {
	var ee exitError
	if errors.As(err, &ee) {
		return int(ee)
	}
	if err != nil {
		return -1
	}
	return 0
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDLPScanCommand(t *testing.T) {
	dir := t.TempDir()
	secret := []byte("notify:\n  slack_webhook_url: " + cliTestSecret + "\n")
	var brBuf bytes.Buffer
	bw := brotli.NewWriter(&brBuf)
	bw.Write(bytes.Repeat(secret, 2))
	bw.Close()
	var gzBuf bytes.Buffer
	gw := gzip.NewWriter(&gzBuf)
	gw.Write(bytes.Repeat(secret, 200))
	gw.Close()

	cases := []struct {
		name   string
		data   []byte
		args   []string
		status int
		path   string // decoding path of the first finding
	}{
		{"clean prose", []byte("The quarterly report is attached; see you on Thursday.\n"), nil, 0, ""},
		{"webhook in YAML", secret, nil, 1, ""},
		{"brotli, sniffed", brBuf.Bytes(), nil, 1, "brotli"},
		{"brotli, hinted", brBuf.Bytes(), []string{"--content-encoding", "br"}, 1, "brotli"},
		{"truncated gzip fails closed", gzBuf.Bytes()[:gzBuf.Len()/2], nil, 3, ""},
		{"credentials profile", secret, []string{"--profile", "Credentials and Secrets"}, 1, ""},
		{"source code profile ignores the webhook", secret, []string{"--profile", "source code"}, 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := writeFile(t, dir, strings.ReplaceAll(c.name, " ", "_"), c.data)
			v, err := scanCLI(t, append(c.args, f)...)
			if got := exitStatus(err); got != c.status {
				t.Fatalf("exit status %d, want %d (verdict %+v)", got, c.status, v)
			}
			if c.status == 1 {
				if len(v.Findings) == 0 || v.Findings[0].Entry != "slack_webhook" {
					t.Fatalf("findings %+v, want slack_webhook", v.Findings)
				}
				if got := strings.Join(v.Findings[0].Path, "/"); got != c.path {
					t.Errorf("path %q, want %q", got, c.path)
				}
				if strings.Contains(v.Findings[0].Sample, "q8Zr2LmX4vN7pK1sT9wY3bHc") {
					t.Errorf("sample not redacted: %q", v.Findings[0].Sample)
				}
			}
			if c.status == 3 && !v.Incomplete {
				t.Errorf("want an incomplete verdict, got %+v", v)
			}
		})
	}

	if _, _, err := run(t, "dlp", "scan", "--profile", "no such profile", filepath.Join(dir, "x")); err == nil ||
		!strings.Contains(err.Error(), "no predefined profile") {
		t.Errorf("unknown profile: %v", err)
	}
	if _, _, err := run(t, "dlp", "scan", filepath.Join(dir, "missing")); err == nil || exitStatus(err) != -1 {
		t.Errorf("missing file: %v", err)
	}
}

// TestDLPPayloadRoundTrip: keygen, scan with the public key, decrypt the
// finding's payload with the private key; the payload holds the match.
func TestDLPPayloadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	keysOut := mustRun(t, "dlp", "keygen")
	keyFile := writeFile(t, dir, "admin.keys", []byte(keysOut))
	pubLine := strings.SplitN(keysOut, "\n", 2)[0]
	pubFile := writeFile(t, dir, "admin.pub", []byte(strings.TrimSpace(strings.TrimPrefix(pubLine, "public_key:"))))

	f := writeFile(t, dir, "upload.txt", []byte("alerts go to "+cliTestSecret+"\n"))
	v, err := scanCLI(t, "--payload-key", pubFile, f)
	if exitStatus(err) != 1 || len(v.Findings) == 0 || len(v.Findings[0].Payload) == 0 {
		t.Fatalf("scan with payload key: %v %+v", err, v)
	}
	root := newRoot()
	var out bytes.Buffer
	root.SetArgs([]string{"dlp", "decrypt", "--key", keyFile})
	root.SetIn(strings.NewReader(base64.StdEncoding.EncodeToString(v.Findings[0].Payload)))
	root.SetOut(&out)
	root.SetErr(&out)
	if err := root.Execute(); err != nil {
		t.Fatalf("decrypt: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), cliTestSecret) {
		t.Errorf("decrypted payload %q lacks the match", out.String())
	}

	// Another key pair cannot read it.
	otherFile := writeFile(t, dir, "other.keys", []byte(mustRun(t, "dlp", "keygen")))
	root = newRoot()
	root.SetArgs([]string{"dlp", "decrypt", "--key", otherFile})
	root.SetIn(bytes.NewReader(v.Findings[0].Payload))
	root.SetOut(&out)
	root.SetErr(&out)
	if err := root.Execute(); err == nil {
		t.Error("payload decrypted with the wrong key")
	}
}

// TestDLPCustomProfiles: hash a dataset with the CLI, reference it from a
// profiles file with a pattern and a word list, and scan with it.
func TestDLPCustomProfiles(t *testing.T) {
	dir := t.TempDir()
	csv := writeFile(t, dir, "customers.csv", []byte("name,account\nAda Lovelace,GB-88-1234-5678\n"))
	edm := mustRun(t, "dlp", "dataset", csv)
	if strings.Contains(edm, "Lovelace") || strings.Contains(edm, "5678") {
		t.Fatalf("dataset output holds plaintext:\n%s", edm)
	}
	writeFile(t, dir, "customers.edm", []byte(edm))
	saltFile := filepath.Join(dir, "salt")
	writeFile(t, dir, "apart.edm", []byte(mustRun(t, "dlp", "dataset", "--salt-file", saltFile, csv)))
	if st, err := os.Stat(saltFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("salt file: %v %v", st, err)
	}
	profiles := writeFile(t, dir, "profiles.yaml", []byte(`
profiles:
  - name: Customer data
    confidence_threshold: low
    entries:
      - id: customers
        dataset: {file: customers.edm}
      - id: project-codes
        pattern: {regex: "PRJ-[0-9]{6}"}
      - id: codenames
        word_list: {words: [nightjar]}
  - name: Salted apart
    entries:
      - id: customers
        dataset: {file: apart.edm, salt_file: salt}
`))
	doc := writeFile(t, dir, "memo.txt", []byte("Nightjar (PRJ-123456) is billed to ada lovelace, GB 88 1234 5678.\n"))
	for _, profile := range []string{"Customer data", "salted apart"} {
		v, err := scanCLI(t, "--profiles", profiles, "--profile", profile, doc)
		if exitStatus(err) != 1 {
			t.Fatalf("%s: exit %v, verdict %+v", profile, err, v)
		}
		var got []string
		for _, f := range v.Findings {
			got = append(got, f.Entry)
		}
		want := map[string]int{"Customer data": 4, "salted apart": 2}[profile]
		if len(got) != want {
			t.Errorf("%s: findings %v, want %d", profile, got, want)
		}
	}
	// Predefined profiles stay reachable next to a profiles file.
	if v, err := scanCLI(t, "--profiles", profiles, "--profile", "PII", doc); exitStatus(err) != 0 {
		t.Errorf("PII: %v %+v", err, v)
	}
	bad := writeFile(t, dir, "bad.yaml", []byte("profiles: [{name: x, entries: [{id: y, pattern: {regex: '(unclosed'}}]}]\n"))
	if _, _, err := run(t, "dlp", "scan", "--profiles", bad, "--profile", "x", doc); err == nil ||
		!strings.Contains(err.Error(), "profiles[0].entries[0]: pattern") {
		t.Errorf("bad profiles file: %v", err)
	}
}
