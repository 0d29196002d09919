package oidc_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"golang.org/x/net/html"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/identity/oidc"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testenv/peers"
)

// Interoperability tests: full logins through the connector against two independent OpenID
// providers that the tests start themselves on 127.0.0.1, driven with net/http the way a browser
// would (cookies, redirects, HTML login and consent forms). They are bounded in time by
// interopTimeout.

const (
	interopTimeout     = 60 * time.Second
	interopCallbackURL = "https://auth.example.com/cdn-cgi/access/callback"
)

// browser follows redirects and submits HTML forms until the provider redirects to the relying
// party's callback, which it does not fetch.
type browser struct {
	client *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{client: &http.Client{
		Jar:     jar,
		Timeout: 10 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if strings.HasPrefix(req.URL.String(), interopCallbackURL) {
				return http.ErrUseLastResponse
			}
			if len(via) >= 10 {
				return errors.New("too many redirects")
			}
			return nil
		},
	}}
}

// login opens startURL and submits every form it is shown, with the values in fill for the
// fields it names, until it is sent to the callback; it returns the callback URL.
func (b *browser) login(ctx context.Context, startURL string, fill map[string]string) (*url.URL, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, startURL, nil)
	if err != nil {
		return nil, err
	}
	for range 8 {
		resp, err := b.client.Do(req)
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		if loc := resp.Header.Get("Location"); resp.StatusCode/100 == 3 && strings.HasPrefix(loc, interopCallbackURL) {
			return url.Parse(loc)
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("%s answered %d: %.300s", resp.Request.URL, resp.StatusCode, body)
		}
		f, err := parseForm(body)
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %.300s", resp.Request.URL, err, body)
		}
		action, err := resp.Request.URL.Parse(f.action)
		if err != nil {
			return nil, err
		}
		for k := range f.values {
			if v, ok := fill[k]; ok {
				f.values.Set(k, v)
			}
		}
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, action.String(), strings.NewReader(f.values.Encode()))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return nil, errors.New("no redirect to the callback after 8 pages")
}

type form struct {
	action string
	values url.Values
}

// parseForm returns the first POST form of an HTML page with its inputs' names and values.
func parseForm(page []byte) (*form, error) {
	doc, err := html.Parse(strings.NewReader(string(page)))
	if err != nil {
		return nil, err
	}
	var f *form
	var walk func(n *html.Node, in *form)
	walk = func(n *html.Node, in *form) {
		if n.Type == html.ElementNode {
			attr := func(k string) string {
				for _, a := range n.Attr {
					if a.Key == k {
						return a.Val
					}
				}
				return ""
			}
			switch {
			case n.Data == "form" && f == nil && strings.EqualFold(attr("method"), "post"):
				f = &form{action: attr("action"), values: url.Values{}}
				in = f
			case n.Data == "input" && in != nil && attr("name") != "":
				in.values.Set(attr("name"), attr("value"))
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, in)
		}
	}
	walk(doc, nil)
	if f == nil {
		return nil, errors.New("page has no POST form")
	}
	return f, nil
}

// flowRun is a login that went through the provider: the flow and the callback URL.
type flowRun struct {
	req   identity.LoginRequest
	start *identity.LoginStart
	cb    *url.URL
}

func startFlow(ctx context.Context, t *testing.T, c *oidc.Connector) (identity.LoginRequest, *identity.LoginStart) {
	t.Helper()
	req := identity.LoginRequest{State: fmt.Sprintf("state-%d", time.Now().UnixNano()), CallbackURL: interopCallbackURL}
	start, err := c.StartLogin(ctx, req)
	if err != nil {
		t.Fatalf("StartLogin: %v", err)
	}
	return req, start
}

// runFlow starts a login through c and lets the browser log in at the provider.
func runFlow(ctx context.Context, t *testing.T, c *oidc.Connector, fill map[string]string) *flowRun {
	t.Helper()
	req, start := startFlow(ctx, t, c)
	cb, err := newBrowser(t).login(ctx, start.RedirectURL, fill)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return &flowRun{req: req, start: start, cb: cb}
}

func (f *flowRun) callback() *http.Request {
	return httptest.NewRequest(http.MethodGet, f.cb.String(), nil)
}

func (f *flowRun) finish(ctx context.Context, t *testing.T, c *oidc.Connector) (*identity.Identity, error) {
	t.Helper()
	r := f.callback()
	st, err := c.CallbackState(r)
	if err != nil || st != f.req.State {
		t.Fatalf("CallbackState = %q, %v; want %q", st, err, f.req.State)
	}
	return c.HandleCallback(ctx, r, f.req, f.start.FlowData)
}

func newConnector(t *testing.T, id string, raw map[string]any) *oidc.Connector {
	t.Helper()
	c, err := oidc.New(store.IdentityProvider{ID: id, Type: "oidc", Config: raw},
		identity.Env{HTTPClient: &http.Client{Timeout: 10 * time.Second}, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantReason(t *testing.T, err error, reason string) {
	t.Helper()
	if got := identity.FailureReason(err); got != reason {
		t.Errorf("reason %q, want %q (%v)", got, reason, err)
	}
}

var registerZitadelClient sync.Once

// TestPeerZitadel logs in through zitadel/oidc's example OpenID provider (github.com/zitadel/
// oidc/v3 example/server/exampleop with its in-memory storage), served in-process on 127.0.0.1.
func TestPeerZitadel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	defer cancel()
	const clientID, secret = "gatehouse-web", "web-secret"
	registerZitadelClient.Do(func() {
		storage.RegisterClients(storage.WebClient(clientID, secret, interopCallbackURL))
	})
	srv := httptest.NewUnstartedServer(nil) // listens on 127.0.0.1
	issuer := "http://" + srv.Listener.Addr().String()
	st := storage.NewStorage(storage.NewUserStore(issuer))
	// A non-nil logger becomes slog's default (the example's choice); keep the test output quiet.
	srv.Config.Handler = exampleop.SetupServer(issuer, st, slog.New(slog.DiscardHandler), false)
	srv.Start()
	defer srv.Close()

	c := newConnector(t, "zitadel", map[string]any{
		"client_id": clientID, "client_secret": secret, "issuer": issuer, "claims": []any{"locale", "preferred_username"},
	})
	user := map[string]string{"username": "test-user@127.0.0.1", "password": "verysecure"}

	t.Run("login", func(t *testing.T) {
		id, err := runFlow(ctx, t, c, user).finish(ctx, t, c)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("identity from zitadel/oidc: %+v", id)
		if id.Email != "test-user@zitadel.ch" || id.Name == "" || id.IdP != (identity.IdP{ID: "zitadel", Type: "oidc"}) {
			t.Errorf("identity %+v", id)
		}
		if !slices.Equal(id.OIDCClaims["preferred_username"], []string{"test-user@127.0.0.1"}) {
			t.Errorf("OIDCClaims %v", id.OIDCClaims)
		}
	})
	t.Run("mixed-up iss parameter", func(t *testing.T) {
		f := runFlow(ctx, t, c, user)
		q := f.cb.Query()
		q.Set("iss", "https://other-idp.example")
		f.cb.RawQuery = q.Encode()
		_, err := f.finish(ctx, t, c)
		wantReason(t, err, "oidc-iss-parameter-mismatch")
	})
	t.Run("code of another flow", func(t *testing.T) {
		// An attacker injects the code of their own login into the victim's flow: the PKCE
		// verifier of the victim's flow does not match, so the provider refuses the code.
		attacker := runFlow(ctx, t, c, user)
		victimReq, victimStart := startFlow(ctx, t, c)
		q := attacker.cb.Query()
		q.Set("state", victimReq.State)
		r := httptest.NewRequest(http.MethodGet, interopCallbackURL+"?"+q.Encode(), nil)
		_, err := c.HandleCallback(ctx, r, victimReq, victimStart.FlowData)
		wantReason(t, err, "oidc-token-exchange-failed")

		// Without PKCE's help (the attacker also knows the verifier), the nonce catches it.
		flow := maps(victimStart.FlowData)
		flow["pkce_verifier"] = attacker.start.FlowData["pkce_verifier"]
		_, err = c.HandleCallback(ctx, r, victimReq, flow)
		wantReason(t, err, "oidc-nonce-mismatch")
	})
	t.Run("issuer spelled differently", func(t *testing.T) {
		other := newConnector(t, "zitadel-localhost", map[string]any{
			"client_id": clientID, "client_secret": secret, "issuer": strings.Replace(issuer, "127.0.0.1", "localhost", 1),
		})
		_, err := other.StartLogin(ctx, identity.LoginRequest{State: "s", CallbackURL: interopCallbackURL})
		wantReason(t, err, "oidc-discovery-failed")
	})
	t.Run("wrong client secret", func(t *testing.T) {
		bad := newConnector(t, "zitadel-bad", map[string]any{"client_id": clientID, "client_secret": "nope", "issuer": issuer})
		_, err := runFlow(ctx, t, bad, user).finish(ctx, t, bad)
		wantReason(t, err, "oidc-token-exchange-failed")
	})
}

func maps(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// nodePeer is a provider process started by startNodePeer.
type nodePeer struct {
	Issuer string `json:"issuer"`
}

// startNodePeer starts interop/oidc-provider/provider.js on the Node binary that
// interop/install.sh installs. When it is not installed the test is skipped, loudly, unless
// CI=true, where it fails.
func startNodePeer(ctx context.Context, t *testing.T, env ...string) *nodePeer {
	t.Helper()
	node, dir := peers.Node(t, "oidc-provider", "install.sh", true, "node_modules/oidc-provider/package.json")
	cmd := exec.CommandContext(ctx, node, "provider.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append([]string{"GATEHOUSE_REDIRECT_URI=" + interopCallbackURL}, env...)...)
	cmd.WaitDelay = 5 * time.Second
	stdin, err := cmd.StdinPipe() // closing it stops the provider
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil && ctx.Err() == nil {
			t.Logf("oidc-provider exited: %v\n%s", err, stderr.String())
		}
	})
	lines := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(stdout)
		if s.Scan() {
			lines <- s.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case line, ok := <-lines:
		var p nodePeer
		if !ok || json.Unmarshal([]byte(line), &p) != nil || !strings.HasPrefix(p.Issuer, "http://127.0.0.1:") {
			t.Fatalf("oidc-provider did not start (first line %q):\n%s", line, stderr.String())
		}
		return &p
	case <-time.After(30 * time.Second):
		t.Fatalf("oidc-provider did not start in 30s:\n%s", stderr.String())
	case <-ctx.Done():
		t.Fatalf("oidc-provider did not start: %v", ctx.Err())
	}
	return nil
}

// TestInteropOIDCProvider logs in through panva's oidc-provider 9.x (OpenID Certified), run as a
// Node process: RS256 and ES256 ID tokens, claims from UserInfo, RFC 9207 iss in every
// authorization response, PKCE required by the provider, client_secret_basic and (on a second
// instance that supports nothing else) client_secret_post.
func TestInteropOIDCProvider(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	defer cancel()
	p := startNodePeer(ctx, t)
	config := func(client, secret string) map[string]any {
		return map[string]any{
			"client_id": client, "client_secret": secret, "issuer": p.Issuer,
			"scopes": []any{"openid", "email", "profile", "groups"}, "claims": []any{"department", "groups"},
		}
	}
	rs := newConnector(t, "panva-rs256", config("gatehouse-rs256", "rs256-secret:with%special chars"))
	es := newConnector(t, "panva-es256", config("gatehouse-es256", "es256-secret"))
	alice := map[string]string{"login": "alice", "password": "any"}

	for name, c := range map[string]*oidc.Connector{"RS256": rs, "ES256": es} {
		t.Run("login "+name, func(t *testing.T) {
			f := runFlow(ctx, t, c, alice)
			if f.cb.Query().Get("iss") != p.Issuer {
				t.Errorf("authorization response iss = %q", f.cb.Query().Get("iss"))
			}
			id, err := f.finish(ctx, t, c)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("identity from oidc-provider: %+v", id)
			if id.Email != "alice@example.com" || id.Name != "Alice Example" ||
				!slices.Equal(id.Groups, []identity.Group{{Name: "eng"}, {Name: "ops"}}) ||
				!slices.Equal(id.OIDCClaims["department"], []string{"R&D"}) || !slices.Equal(id.OIDCClaims["groups"], []string{"eng", "ops"}) {
				t.Errorf("identity %+v", id)
			}
		})
	}
	t.Run("iss parameter removed", func(t *testing.T) {
		f := runFlow(ctx, t, rs, alice)
		q := f.cb.Query()
		q.Del("iss")
		f.cb.RawQuery = q.Encode()
		_, err := f.finish(ctx, t, rs)
		wantReason(t, err, "oidc-iss-parameter-missing")
	})
	t.Run("mixed-up iss parameter", func(t *testing.T) {
		f := runFlow(ctx, t, rs, alice)
		q := f.cb.Query()
		q.Set("iss", "https://other-idp.example")
		f.cb.RawQuery = q.Encode()
		_, err := f.finish(ctx, t, rs)
		wantReason(t, err, "oidc-iss-parameter-mismatch")
	})
	t.Run("unverified e-mail", func(t *testing.T) {
		_, err := runFlow(ctx, t, rs, map[string]string{"login": "mallory", "password": "any"}).finish(ctx, t, rs)
		wantReason(t, err, "oidc-email-unverified")
	})
	t.Run("client_secret_post", func(t *testing.T) {
		post := startNodePeer(ctx, t, "GATEHOUSE_TOKEN_AUTH=post")
		cfg := config("gatehouse-rs256", "rs256-secret:with%special chars")
		cfg["issuer"] = post.Issuer
		c := newConnector(t, "panva-post", cfg)
		id, err := runFlow(ctx, t, c, alice).finish(ctx, t, c)
		if err != nil || id.Email != "alice@example.com" {
			t.Fatalf("login: %+v, %v", id, err)
		}
	})
}
