package saml

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crewjam/saml/samlidp"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/store"
)

// interopTimeout bounds every interoperability test.
const interopTimeout = 60 * time.Second

// spServer is a minimal stand-in for package authn around the connector: /login starts a
// flow, /callback (the ACS) finishes it, /saml-metadata publishes the SP metadata.
type spServer struct {
	srv   *httptest.Server
	c     *Connector
	mu    sync.Mutex
	flows map[string]map[string]string
}

func (s *spServer) req(state string) identity.LoginRequest {
	return identity.LoginRequest{State: state, CallbackURL: s.srv.URL + "/callback", SPEntityID: s.srv.URL + "/saml-metadata"}
}

// newSPServer starts the SP on 127.0.0.1; cfg receives the SP's base URL and returns the
// connector configuration.
func newSPServer(t *testing.T, cfg func(spURL string) map[string]any, env identity.Env) *spServer {
	t.Helper()
	s := &spServer{flows: map[string]map[string]string{}}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	spURL := "http://" + s.srv.Listener.Addr().String()
	if env.Replay == nil {
		env.Replay = &memReplay{now: time.Now}
	}
	if env.Log == nil {
		env.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	env.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	c, err := New(store.IdentityProvider{ID: "interop", Type: "saml", Config: cfg(spURL)}, env)
	if err != nil {
		t.Fatal(err)
	}
	s.c = c
	s.srv.Start()
	t.Cleanup(s.srv.Close)
	return s
}

func (s *spServer) serve(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/saml-metadata":
		b, err := s.c.SPMetadata(s.req(""))
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/samlmetadata+xml")
		w.Write(b)
	case "/login":
		state := rand.Text()
		start, err := s.c.StartLogin(r.Context(), s.req(state))
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		s.mu.Lock()
		s.flows[state] = start.FlowData
		s.mu.Unlock()
		if start.RedirectURL != "" {
			http.Redirect(w, r, start.RedirectURL, http.StatusFound)
			return
		}
		fmt.Fprintf(w, `<form method="post" action="%s">`, html.EscapeString(start.PostURL))
		for k, vs := range start.PostForm {
			fmt.Fprintf(w, `<input type="hidden" name="%s" value="%s" />`, html.EscapeString(k), html.EscapeString(vs[0]))
		}
		fmt.Fprint(w, `</form>`)
	case "/callback":
		state, err := s.c.CallbackState(r)
		if err != nil {
			http.Error(w, identity.FailureReason(err)+": "+err.Error(), 400)
			return
		}
		s.mu.Lock()
		fd, ok := s.flows[state] // kept after use so that replays reach the connector
		s.mu.Unlock()
		if !ok {
			http.Error(w, "unknown flow", 400)
			return
		}
		id, err := s.c.HandleCallback(r.Context(), r, s.req(state), fd)
		if err != nil {
			http.Error(w, identity.FailureReason(err)+": "+err.Error(), 403)
			return
		}
		json.NewEncoder(w).Encode(id)
	default:
		http.NotFound(w, r)
	}
}

// browser is a cookie-keeping HTTP client that submits the HTML forms it is shown.
type browser struct {
	t *testing.T
	c *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, c: &http.Client{Jar: jar, Timeout: 15 * time.Second}}
}

func (b *browser) do(req *http.Request) (int, string) {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		b.t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func (b *browser) get(ctx context.Context, u string) (int, string) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	return b.do(req)
}

func (b *browser) post(ctx context.Context, u string, form url.Values) (int, string) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var (
	formAction  = regexp.MustCompile(`<form[^>]*action="([^"]*)"`)
	hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`)
)

// parseForm extracts the action and hidden fields of the first form in page.
func parseForm(t *testing.T, page string) (string, url.Values) {
	t.Helper()
	m := formAction.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no form in page:\n%s", page)
	}
	v := url.Values{}
	for _, h := range hiddenInput.FindAllStringSubmatch(page, -1) {
		v.Set(html.UnescapeString(h[1]), html.UnescapeString(h[2]))
	}
	return html.UnescapeString(m[1]), v
}

// startLogin opens the SP's /login like a browser and returns the IdP's first page. A
// POST-binding AuthnRequest form is submitted.
func (b *browser) startLogin(ctx context.Context, sp *spServer) (int, string) {
	code, page := b.get(ctx, sp.srv.URL+"/login")
	if strings.HasPrefix(page, `<form method="post" action="`+sp.c.idp.Load().ssoURL) {
		action, form := parseForm(b.t, page)
		return b.post(ctx, action, form)
	}
	return code, page
}

func interopKey(t *testing.T) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "interop idp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return k, c
}

// TestPeerCrewjamIdP logs in through crewjam/saml's samlidp, run in-process on 127.0.0.1 with
// a fresh certificate and RSA-SHA256. It signs both the Response and the Assertion. Gatehouse
// reads the IdP from its metadata URL; both AuthnRequest bindings are exercised, the POST one
// signed.
func TestPeerCrewjamIdP(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	defer cancel()
	key, cert := interopKey(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	idpURL, _ := url.Parse("http://" + l.Addr().String())
	idp, err := samlidp.New(samlidp.Options{URL: *idpURL, Key: key, Certificate: cert, Store: &samlidp.MemoryStore{},
		Logger: log.New(io.Discard, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	idp.IDP.SignatureMethod = dsig.RSASHA256SignatureMethod
	idpSrv := &httptest.Server{Listener: l, Config: &http.Server{Handler: idp, ReadHeaderTimeout: 5 * time.Second}}
	idpSrv.Start()
	defer idpSrv.Close()

	admin := newBrowser(t)
	user := `{"password":"hunter2","email":"Alice@Example.com","common_name":"Alice Liddell","groups":["admins","eng"]}`
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, idpURL.String()+"/users/alice", strings.NewReader(user))
	if code, body := admin.do(req); code/100 != 2 {
		t.Fatalf("creating the IdP user: %d %s", code, body)
	}

	spKey, spCert := interopKey(t)
	for _, tc := range []struct{ binding, sign string }{{"redirect", "false"}, {"post", "true"}} {
		t.Run(tc.binding, func(t *testing.T) {
			sp := newSPServer(t, func(string) map[string]any {
				return map[string]any{
					"metadata_url":         idpURL.String() + "/metadata",
					"binding":              tc.binding,
					"sign_request":         tc.sign == "true",
					"email_attribute_name": "urn:oid:0.9.2342.19200300.100.1.3", // mail; crewjam's NameID is transient
					"attributes":           []any{"urn:oid:1.3.6.1.4.1.5923.1.1.1.1", "cn"},
				}
			}, identity.Env{Signer: spKey, Certificate: spCert})

			// Register the SP with the IdP from Gatehouse's published metadata.
			b := newBrowser(t)
			_, md := b.get(ctx, sp.srv.URL+"/saml-metadata")
			req, _ := http.NewRequestWithContext(ctx, http.MethodPut, idpURL.String()+"/services/gatehouse-"+tc.binding, strings.NewReader(md))
			if code, body := b.do(req); code/100 != 2 {
				t.Fatalf("registering the SP: %d %s", code, body)
			}

			// The IdP shows its login page; logging in there only creates a session, so the
			// SAML request is then re-posted to /sso.
			code, page := b.startLogin(ctx, sp)
			if code != 200 || !strings.Contains(page, `name="password"`) {
				t.Fatalf("IdP login page: %d\n%s", code, page)
			}
			_, login := parseForm(t, page)
			login.Set("user", "alice")
			login.Set("password", "hunter2")
			if code, body := b.post(ctx, idpURL.String()+"/login", login); code != 200 {
				t.Fatalf("IdP login: %d %s", code, body)
			}
			code, page = b.post(ctx, idpURL.String()+"/sso", url.Values{"SAMLRequest": {login.Get("SAMLRequest")}, "RelayState": {login.Get("RelayState")}})
			if code != 200 {
				t.Fatalf("IdP /sso: %d %s", code, page)
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
			if id.Email != "alice@example.com" || id.IdP.Type != "saml" || id.IdP.ID != "interop" {
				t.Errorf("identity %+v", id)
			}
			if got := id.SAMLAttributes["urn:oid:1.3.6.1.4.1.5923.1.1.1.1"]; strings.Join(got, ",") != "admins,eng" {
				t.Errorf("groups attribute %v", got)
			}
			if got := id.SAMLAttributes["cn"]; len(got) != 0 {
				t.Errorf("unrequested attribute: %v", got)
			}
			if strings.Join(id.AMR, ",") != "pwd" {
				t.Errorf("amr %v", id.AMR)
			}
			// The same response again is a replay.
			if code, body := b.post(ctx, acs, resp); code != 403 || !strings.HasPrefix(body, "saml-replay:") {
				t.Errorf("replayed response: %d %s", code, body)
			}
		})
	}
}
