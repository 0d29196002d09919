package saml

import (
	"bufio"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/identity"
)

// samlifyDir is interop/samlify-idp, relative to this package.
const samlifyDir = "../../../interop/samlify-idp"

// requireSamlify skips (or, with CI=true, fails) when node or the samlify IdP is not installed.
func requireSamlify(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(samlifyDir, "node_modules", "samlify", "package.json"))
	}
	if err != nil {
		msg := "samlify IdP not installed (" + err.Error() + "): run interop/install-saml.sh"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("SKIPPING SAMLIFY INTEROPERABILITY: " + msg)
	}
	return node
}

// startSamlify runs interop/samlify-idp/idp.js for one SP and returns its base URL. The process
// ends when the test does (stdin closed, then killed).
func startSamlify(t *testing.T, ctx context.Context, node string, key *rsa.PrivateKey, cert *x509.Certificate, spMetadata []byte) string {
	t.Helper()
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keyPath := write("idp-key.pem", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	certPath := write("idp-cert.pem", []byte(certPEM(cert)))
	mdPath := write("sp.xml", spMetadata)
	script, err := filepath.Abs(filepath.Join(samlifyDir, "idp.js"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, node, script, "--key", keyPath, "--cert", certPath, "--sp-metadata", mdPath,
		"--email", "Bob@Example.org", "--name", "Bob Builder", "--groups", "ops,dev")
	cmd.Dir = filepath.Dir(script)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	select {
	case line, ok := <-lines:
		var ready struct{ URL string }
		if !ok || json.Unmarshal([]byte(line), &ready) != nil || ready.URL == "" {
			t.Fatalf("samlify IdP did not start: %q", line)
		}
		return ready.URL
	case <-time.After(20 * time.Second):
		t.Fatal("samlify IdP did not start within 20s")
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	return ""
}

// TestInteropSamlifyIdP logs in through samlify (Node) as an independent IdP. samlify checks
// Gatehouse's AuthnRequest signatures (it wants signed requests) on both bindings, signs only
// the Assertion, and Gatehouse reads the IdP from samlify's own metadata.
func TestInteropSamlifyIdP(t *testing.T) {
	node := requireSamlify(t)
	ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	defer cancel()
	idpKey, idpCert := interopKey(t)
	spKey, spCert := interopKey(t)

	for _, tc := range []struct {
		binding string
		sign    bool
	}{{"redirect", true}, {"post", true}, {"redirect", false}} {
		binding := tc.binding
		t.Run(fmt.Sprintf("%s signed=%v", tc.binding, tc.sign), func(t *testing.T) {
			var idpURL string
			sp := newSPServer(t, func(spURL string) map[string]any {
				md, err := spMetadata(spURL+"/saml-metadata", spURL+"/callback", spCert, nil)
				if err != nil {
					t.Fatal(err)
				}
				idpURL = startSamlify(t, ctx, node, idpKey, idpCert, md)
				return map[string]any{
					"metadata_url": idpURL + "/metadata",
					"binding":      binding,
					"sign_request": tc.sign,
					"attributes":   []any{"groups"},
				}
			}, identity.Env{Signer: spKey, Certificate: spCert})

			b := newBrowser(t)
			code, page := b.startLogin(ctx, sp)
			if !tc.sign {
				// samlify wants signed requests: proof that it checked the signed ones.
				if code != 400 {
					t.Errorf("samlify accepted an unsigned AuthnRequest: %d %s", code, page)
				}
				return
			}
			if code != 200 {
				t.Fatalf("samlify /sso: %d %s", code, page)
			}
			acs, resp := parseForm(t, page)
			if acs != sp.srv.URL+"/callback" {
				t.Fatalf("IdP posts to %q", acs)
			}
			code, body := b.post(ctx, acs, resp)
			if code != 200 {
				t.Fatalf("ACS: %d %s", code, body)
			}
			var id identity.Identity
			if err := json.Unmarshal([]byte(body), &id); err != nil {
				t.Fatal(err)
			}
			if id.Email != "bob@example.org" || id.Name != "Bob Builder" || strings.Join(id.AMR, ",") != "pwd" {
				t.Errorf("identity %+v", id)
			}
			if len(id.Groups) != 2 || id.Groups[0].Name != "ops" || strings.Join(id.SAMLAttributes["groups"], ",") != "ops,dev" {
				t.Errorf("groups %+v / %v", id.Groups, id.SAMLAttributes)
			}
			if code, body := b.post(ctx, acs, resp); code != 403 || !strings.HasPrefix(body, "saml-replay:") {
				t.Errorf("replayed response: %d %s", code, body)
			}
		})
	}
}
