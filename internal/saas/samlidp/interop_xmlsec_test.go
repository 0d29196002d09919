package samlidp

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

// xmlsecIDAttrs registers the ID attributes of both signed elements.
var xmlsecIDAttrs = []string{
	"--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:protocol:Response",
	"--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
}

// The two signatures, addressed by position so that each run checks exactly one.
const (
	xpathResponseSignature  = "/*[local-name()='Response']/*[local-name()='Signature']"
	xpathAssertionSignature = "/*[local-name()='Response']/*[local-name()='Assertion']/*[local-name()='Signature']"
)

// xmlsecVerify runs xmlsec1 on one signature of file with certFile's key as the only key (the
// KeyInfo certificate is ignored) and returns its output and whether it verified.
func xmlsecVerify(t *testing.T, ctx context.Context, xmlsec, certFile, file, xpath string) (string, bool) {
	t.Helper()
	args := append([]string{"--verify", "--enabled-key-data", "rsa", "--pubkey-cert-pem", certFile}, xmlsecIDAttrs...)
	args = append(args, "--node-xpath", xpath, file)
	out, err := exec.CommandContext(ctx, xmlsec, args...).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("xmlsec1 ran out of time: %v", ctx.Err())
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("xmlsec1: %v", err)
	}
	return string(out), err == nil
}

// TestInteropXMLSec1 has xmlsec1 (libxmlsec1/OpenSSL, an independent XML-DSig implementation)
// verify both signatures of a Response Gatehouse issued, whose attribute values hold every
// XML-significant character; a tampered Response and a foreign key must fail.
func TestInteropXMLSec1(t *testing.T) {
	xmlsec, err := exec.LookPath("xmlsec1")
	requirePeer(t, "xmlsec1", err, "scripts/install-test-deps.sh (Debian package xmlsec1)")
	ctx := contextFor(t)

	h := newHarness(t)
	in, _ := trickyValues(true)
	h.auth.grant.Identity.SAMLAttributes["tricky"] = in
	h.cfg.Applications[0].SaaSApp.CustomAttributes = []store.SAMLAttribute{{Name: `t<&"'>`, Source: store.AttributeSource{Name: "tricky"}}}
	h.compile(t, &harnessConfig{scheme: "https"})
	h.auth.always = true
	_, raw := samlResponse(t, h.serve(getSSO(redirectQuery(authnRequestXML(testSP, nil), "")), ""))

	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	certFile := write("idp.pem", certPEM(h.keys.Certificate()))
	good := write("response.xml", raw)
	bad := write("tampered.xml", []byte(strings.Replace(string(raw), "alice@example.com", "mallory@example.com", 1)))
	_, otherCert := interopKey(t)
	otherFile := write("other.pem", certPEM(otherCert))

	for _, sig := range []struct{ name, xpath string }{
		{"Response", xpathResponseSignature},
		{"Assertion", xpathAssertionSignature},
	} {
		t.Run(sig.name, func(t *testing.T) {
			if out, ok := xmlsecVerify(t, ctx, xmlsec, certFile, good, sig.xpath); !ok || !strings.Contains(out, "OK") {
				t.Fatalf("xmlsec1 does not verify the %s signature:\n%s", sig.name, out)
			}
			if out, ok := xmlsecVerify(t, ctx, xmlsec, certFile, bad, sig.xpath); ok {
				t.Fatalf("xmlsec1 verified a tampered %s:\n%s", sig.name, out)
			}
			if out, ok := xmlsecVerify(t, ctx, xmlsec, otherFile, good, sig.xpath); ok {
				t.Fatalf("xmlsec1 verified the %s with a foreign key:\n%s", sig.name, out)
			}
		})
	}
}
