package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/store"
)

var caIDLine = regexp.MustCompile(`generated gateway CA ([0-9a-f-]{36})`)

func generateCA(t *testing.T, args ...string) string {
	t.Helper()
	out := mustRun(t, append([]string{"gateway", "ca", "generate"}, args...)...)
	m := caIDLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("generate printed no CA ID:\n%s", out)
	}
	return m[1]
}

// TestGatewayCACommands runs generate, list, activate, export, make-available and deactivate
// against the configured store, as an administrator would.
func TestGatewayCACommands(t *testing.T) {
	cfgFile, _ := adminFixture(t)
	first := generateCA(t, "--config", cfgFile)
	second := generateCA(t, "--config", cfgFile, "--validity", "43800h", "--activate")

	var list []map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, "gateway", "ca", "list", "--config", cfgFile, "--json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0]["id"] != second || list[0]["state"] != store.GatewayCAInUse ||
		list[1]["id"] != first || list[1]["state"] != store.GatewayCAInactive {
		t.Fatalf("list --json = %v; want the second CA in use, the first inactive", list)
	}
	table := mustRun(t, "gateway", "ca", "list", "--config", cfgFile)
	for _, want := range []string{"ID", "STATE", "SHA256 FINGERPRINT", "NOT AFTER", first, second, "in_use", "inactive", list[0]["fingerprint"].(string)} {
		if !strings.Contains(table, want) {
			t.Errorf("list lacks %q:\n%s", want, table)
		}
	}

	out := mustRun(t, "gateway", "ca", "activate", first, "--config", cfgFile)
	if !strings.Contains(out, first) || !strings.Contains(out, "in_use") {
		t.Errorf("activate printed %q", out)
	}
	if err := json.Unmarshal([]byte(mustRun(t, "gateway", "ca", "list", "--config", cfgFile, "--json")), &list); err != nil {
		t.Fatal(err)
	}
	if list[0]["state"] != store.GatewayCAAvailable || list[1]["state"] != store.GatewayCAInUse {
		t.Errorf("after activating the first CA: %v; want second available, first in use", list)
	}

	// Export: the certificate, nothing else, to standard output or a file.
	pemOut := mustRun(t, "gateway", "ca", "export", first, "--config", cfgFile)
	block, rest := pem.Decode([]byte(pemOut))
	if block == nil || block.Type != "CERTIFICATE" || strings.TrimSpace(string(rest)) != "" {
		t.Fatalf("export printed %q", pemOut)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil || !cert.IsCA || !strings.HasPrefix(cert.Subject.CommonName, "Gatehouse Gateway CA") {
		t.Fatalf("exported certificate: %v %+v", err, cert.Subject)
	}
	sum := sha256.Sum256(block.Bytes)
	if hex.EncodeToString(sum[:]) != list[1]["fingerprint"] {
		t.Error("exported certificate does not have the listed fingerprint")
	}
	file := filepath.Join(t.TempDir(), "gatehouse-ca.pem")
	mustRun(t, "gateway", "ca", "export", first, "--config", cfgFile, "--out", file)
	if b, err := os.ReadFile(file); err != nil || string(b) != pemOut {
		t.Errorf("export --out wrote %q, %v", b, err)
	}

	// Lifecycle refusals, with words a user understands.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"deactivate", first}, "is in use; activate another CA first"},
		{[]string{"make-available", first}, "is in use; activate another CA first"},
		{[]string{"activate", "00000000-0000-4000-8000-000000000000"}, "no gateway CA has this ID"},
		{[]string{"export", "nope"}, "no gateway CA has this ID"},
		{[]string{"generate", "--validity", "100y"}, "validity"},
		{[]string{"generate", "--validity", "soon"}, "validity"},
		{[]string{"activate"}, "accepts 1 arg"},
	} {
		_, _, err := run(t, append(append([]string{"gateway", "ca"}, tc.args...), "--config", cfgFile)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("gateway ca %v: %v; want an error containing %q", tc.args, err, tc.want)
		}
	}
	mustRun(t, "gateway", "ca", "deactivate", second, "--config", cfgFile)
	mustRun(t, "gateway", "ca", "make-available", second, "--config", cfgFile)

	// Every change is in the audit log, and the database holds no private key in the clear.
	cfg, err := config.Load(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	st, err := app.OpenStore(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	events, err := st.(store.AuditLog).ListAuditEvents(t.Context(), store.AuditQuery{TargetType: "gateway_ca"})
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]int{}
	for _, e := range events {
		actions[e.Action]++
	}
	want := map[string]int{"gateway_ca.generate": 2, "gateway_ca.activate": 2, "gateway_ca.deactivate": 1, "gateway_ca.make_available": 1}
	for a, n := range want {
		if actions[a] != n {
			t.Errorf("audit log has %d %s events, want %d (all: %v)", actions[a], a, n, actions)
		}
	}
	db, err := os.ReadFile(filepath.Join(filepath.Dir(cfgFile), "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(filepath.Join(filepath.Dir(cfgFile), "gatehouse.db-wal"))
	if !bytes.Contains(append(db, wal...), []byte("BEGIN CERTIFICATE")) {
		t.Fatal("the database files do not hold the certificates; the check below proves nothing")
	}
	if bytes.Contains(append(db, wal...), []byte("PRIVATE KEY")) {
		t.Error("the database holds a PEM private key")
	}
}

// TestGatewayCAGenerateActivateAtLimit: with ten CAs available or in use, generate --activate
// still generates the CA but says that it could not activate it.
func TestGatewayCAGenerateActivateAtLimit(t *testing.T) {
	cfgFile, _ := adminFixture(t)
	for range store.MaxAvailableGatewayCAs {
		generateCA(t, "--config", cfgFile, "--activate")
	}
	_, _, err := run(t, "gateway", "ca", "generate", "--activate", "--config", cfgFile)
	if err == nil || !strings.Contains(err.Error(), "(inactive) but did not activate it") || !strings.Contains(err.Error(), "at most 10") {
		t.Fatalf("generate --activate at the limit: %v", err)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, "gateway", "ca", "list", "--config", cfgFile, "--json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != store.MaxAvailableGatewayCAs+1 || list[0]["state"] != store.GatewayCAInactive || list[1]["state"] != store.GatewayCAInUse {
		t.Errorf("after the refused activation: %d CAs, newest %v, next %v", len(list), list[0]["state"], list[1]["state"])
	}
}
