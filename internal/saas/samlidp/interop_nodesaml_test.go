package samlidp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// nodeSAMLDir is interop/node-saml-sp, relative to this package.
const nodeSAMLDir = "../../../interop/node-saml-sp"

// requireNodeSAML returns the node binary, skipping (or failing with CI=true) when node or the
// peer is not installed.
func requireNodeSAML(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(nodeSAMLDir, "node_modules", "@node-saml", "node-saml", "package.json"))
	}
	requirePeer(t, "@node-saml/node-saml SP", err, "interop/install-node-saml.sh")
	return node
}

// startNodeSAML runs interop/node-saml-sp/sp.js against our IdP and returns its base URL. The
// process ends with the test (stdin closed, then killed).
func startNodeSAML(t *testing.T, ctx context.Context, node, ssoURL string, idpCertPEM []byte) string {
	t.Helper()
	certFile := filepath.Join(t.TempDir(), "idp.pem")
	if err := os.WriteFile(certFile, idpCertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs(filepath.Join(nodeSAMLDir, "sp.js"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, node, script, "--idp-sso", ssoURL, "--idp-issuer", ssoURL, "--idp-cert", certFile)
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
		_ = stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
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
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case line, ok := <-lines:
		var ready struct{ URL string }
		if !ok || json.Unmarshal([]byte(line), &ready) != nil || ready.URL == "" {
			t.Fatalf("node-saml SP did not start: %q", line)
		}
		return ready.URL
	case <-time.After(20 * time.Second):
		t.Fatal("node-saml SP did not start within 20s")
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	return ""
}

// nodeResult is what sp.js answers on its ACS.
type nodeResult struct {
	NameID       string
	NameIDFormat string
	RelayState   string
	Attributes   map[string]any
	Error        string
}

func (r *nodeResult) values(name string) []string {
	switch v := r.Attributes[name].(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			s, _ := x.(string)
			out = append(out, s)
		}
		return out
	}
	return nil
}

// TestInteropNodeSAMLSP logs into @node-saml/node-saml 5 (an independent Node SP) through
// Gatehouse's IdP over both request bindings (node-saml DEFLATEs its HTTP-POST requests too) and
// IdP-initiated. node-saml wants the Response
// and the Assertion signed, checks Issuer, Audience, Recipient/Destination, the time window and
// InResponseTo against the requests it made; it must read the attributes exactly. A tampered
// Response and a replayed one must be refused.
func TestInteropNodeSAMLSP(t *testing.T) {
	node := requireNodeSAML(t)
	ctx := contextFor(t)
	idp := startIdP(t)
	spURL := startNodeSAML(t, ctx, node, idp.ssoURL(), certPEM(idp.keys.Certificate()))
	sa := defaultSaaS()
	sa.SPEntityID, sa.ConsumerServiceURL = spURL+"/metadata", spURL+"/acs"
	sa.DefaultRelayState = spURL + "/after-idp-login"
	sa.CustomAttributes = trickyCustom()
	idp.configure(t, sa)
	// xml2js keeps an escaped CR, so node-saml sees every value exactly.
	in, want := trickyValues(true)
	idp.auth.grant.Identity.SAMLAttributes["tricky"] = in

	acs := func(t *testing.T, b *http.Client, form *autoPost) (int, *nodeResult) {
		t.Helper()
		if form.Action != sa.ConsumerServiceURL {
			t.Fatalf("auto-post to %q", form.Action)
		}
		code, body := post(t, b, form.Action, form.Fields)
		var r nodeResult
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatalf("ACS answered %d %q", code, body)
		}
		return code, &r
	}
	check := func(t *testing.T, r *nodeResult, relay string) {
		t.Helper()
		if r.NameID != "alice@example.com" || r.NameIDFormat != formatEmail || r.RelayState != relay {
			t.Errorf("node-saml profile: %+v", r)
		}
		for name, want := range map[string][]string{
			"id": {testIdentity().UserID}, "email": {"alice@example.com"}, "name": {`Alice <&"'> O'Brien`},
			"groups": {"eng", "R&D <core>"}, "team": {"Platform & Tools"}, "tricky": want,
		} {
			if got := r.values(name); !equalValues(got, want) {
				t.Errorf("node-saml read %s = %q, want %q", name, got, want)
			}
		}
	}

	t.Run("HTTP-Redirect", func(t *testing.T) {
		b := browser(t)
		// node-saml forgets a request it failed to validate, so the tampered Response gets a
		// login of its own.
		form := fetchAutoPost(t, b, spURL+"/login?relay=tampered")
		form.Fields.Set("SAMLResponse", tamper(t, form.Fields.Get("SAMLResponse")))
		if code, r := acs(t, b, form); code != http.StatusForbidden || !strings.Contains(strings.ToLower(r.Error), "signature") {
			t.Fatalf("tampered Response: %d %+v", code, r)
		}
		form = fetchAutoPost(t, b, spURL+"/login?relay="+url.QueryEscape("redirect-<&>"))
		code, r := acs(t, b, form)
		if code != http.StatusOK {
			t.Fatalf("node-saml refused the Response: %d %s", code, r.Error)
		}
		check(t, r, "redirect-<&>")
		// node-saml forgets a request once answered: a replay no longer matches InResponseTo.
		if code, r := acs(t, b, form); code != http.StatusForbidden {
			t.Fatalf("replayed Response accepted: %d %+v", code, r)
		}
	})

	t.Run("HTTP-POST", func(t *testing.T) {
		b := browser(t)
		req := fetchAutoPost(t, b, spURL+"/login?binding=post&relay=post-1")
		if req.Action != idp.ssoURL() || req.Fields.Get("SAMLRequest") == "" {
			t.Fatalf("node-saml's request form: %+v", req)
		}
		resp, err := b.PostForm(req.Action, req.Fields)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("our SSO answered %d: %s", resp.StatusCode, b)
		}
		code, r := acs(t, b, parseAutoPost(t, resp.Body))
		if code != http.StatusOK {
			t.Fatalf("node-saml refused the Response: %d %s", code, r.Error)
		}
		check(t, r, "post-1")
	})

	t.Run("IdP-initiated", func(t *testing.T) {
		b := browser(t)
		b.Jar.SetCookies(mustURL(t, idp.srv.URL), []*http.Cookie{{Name: "fake_session", Value: "1", Path: "/"}})
		code, r := acs(t, b, fetchAutoPost(t, b, idp.ssoURL()))
		if code != http.StatusOK {
			t.Fatalf("node-saml refused the Response: %d %s", code, r.Error)
		}
		check(t, r, sa.DefaultRelayState)
	})

	t.Run("wrong audience", func(t *testing.T) {
		// The same SP, but the application is configured with another entity ID: node-saml
		// must refuse an assertion for another audience.
		other := *sa
		other.SPEntityID = spURL + "/other-entity"
		idp.configure(t, &other)
		defer idp.configure(t, sa)
		b := browser(t)
		b.Jar.SetCookies(mustURL(t, idp.srv.URL), []*http.Cookie{{Name: "fake_session", Value: "1", Path: "/"}})
		code, r := acs(t, b, fetchAutoPost(t, b, idp.ssoURL()))
		if code != http.StatusForbidden || !strings.Contains(strings.ToLower(r.Error), "audience") {
			t.Fatalf("assertion for another audience: %d %+v", code, r)
		}
	})
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal("interoperability test ran out of time")
	}
}
