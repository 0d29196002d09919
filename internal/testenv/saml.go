package testenv

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/crewjam/saml/samlidp"
	"github.com/gatehouse/gatehouse/internal/testenv/peers"
	dsig "github.com/russellhaering/goxmldsig"
)

// NewKeyPair returns an RSA key and a self-signed certificate valid for a day.
func NewKeyPair(t *testing.T, cn string) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return k, c
}

// CertPEM encodes a certificate.
func CertPEM(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

// CrewjamIdP is crewjam/saml's samlidp running in-process on 127.0.0.1, signing with
// RSA-SHA256.
type CrewjamIdP struct {
	URL string
	srv *httptest.Server
}

// StartCrewjamIdP starts the IdP with one user (password "hunter2").
func StartCrewjamIdP(t *testing.T, user, email string, groups []string) *CrewjamIdP {
	t.Helper()
	key, cert := NewKeyPair(t, "crewjam idp")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse("http://" + l.Addr().String())
	idp, err := samlidp.New(samlidp.Options{URL: *u, Key: key, Certificate: cert, Store: &samlidp.MemoryStore{}, Logger: log.New(io.Discard, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	idp.IDP.SignatureMethod = dsig.RSASHA256SignatureMethod
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: idp, ReadHeaderTimeout: 5 * time.Second}}
	srv.Start()
	t.Cleanup(srv.Close)
	c := &CrewjamIdP{URL: u.String(), srv: srv}
	body, _ := json.Marshal(map[string]any{"password": "hunter2", "email": email, "common_name": user, "groups": groups})
	c.put(t, "/users/"+user, string(body))
	return c
}

func (c *CrewjamIdP) put(t *testing.T, path, body string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, c.URL+path, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("crewjam IdP PUT %s: %d %s", path, resp.StatusCode, b)
	}
}

// RegisterSP registers a service provider from its metadata.
func (c *CrewjamIdP) RegisterSP(t *testing.T, name string, metadata []byte) {
	t.Helper()
	c.put(t, "/services/"+name, string(metadata))
}

// repoRoot is the module root, found from this file's location.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// RequireSamlify returns the node binary when interop/samlify-idp is installed; otherwise the
// test is skipped loudly, or fails under CI=true.
func RequireSamlify(t *testing.T) string {
	t.Helper()
	node, _ := peers.Node(t, "samlify-idp", "install-saml.sh", false, "node_modules/samlify/package.json")
	return node
}

// StartSamlify runs interop/samlify-idp on 127.0.0.1:port for one SP; its users are logged in at
// once as email. It returns the IdP's base URL (its entity ID is URL+"/metadata").
func StartSamlify(t *testing.T, port string, key *rsa.PrivateKey, cert *x509.Certificate, spMetadata []byte, email string, groups []string) string {
	t.Helper()
	node := RequireSamlify(t)
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keyPath := write("idp-key.pem", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	certPath := write("idp-cert.pem", []byte(CertPEM(cert)))
	mdPath := write("sp.xml", spMetadata)
	script := filepath.Join(repoRoot(), "interop", "samlify-idp", "idp.js")
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, node, script, "--port", port, "--key", keyPath, "--cert", certPath, "--sp-metadata", mdPath,
		"--email", email, "--groups", strings.Join(groups, ","))
	cmd.Dir = filepath.Dir(script)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	// idp.js exits when its standard input closes: keep it open for the test's lifetime.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cancel(); _ = cmd.Wait() })
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	select {
	case line := <-lines:
		var ready struct{ URL string }
		if json.Unmarshal([]byte(line), &ready) != nil || ready.URL == "" {
			t.Fatalf("samlify IdP did not start: %q", line)
		}
		return ready.URL
	case <-time.After(20 * time.Second):
		t.Fatal("samlify IdP did not start within 20s")
	}
	return ""
}

// FreePort returns a port on 127.0.0.1 that was free a moment ago.
func FreePort(t *testing.T) string { return freePort(t) }

// AddShortcut adds an IdP-initiated login link, /login/<name>, for the service provider whose
// entity ID is given, with a fixed RelayState ("" for none).
func (c *CrewjamIdP) AddShortcut(t *testing.T, name, spEntityID, relayState string) {
	t.Helper()
	sc := map[string]any{"name": name, "service_provider": spEntityID}
	if relayState != "" {
		sc["relay_state"] = relayState
	}
	b, _ := json.Marshal(sc)
	c.put(t, "/shortcuts/"+name, string(b))
}
