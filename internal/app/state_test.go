package app_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// metadataServer serves a SAML IdP's metadata, counts fetches and can hold them.
type metadataServer struct {
	*httptest.Server
	body    []byte
	fetches atomic.Int32
	// hold, when set, blocks fetches until it is closed.
	hold atomic.Pointer[chan struct{}]
}

func newMetadataServer(t *testing.T, idp *testenv.CrewjamIdP) *metadataServer {
	t.Helper()
	resp, err := http.Get(idp.URL + "/metadata")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	m := &metadataServer{}
	if m.body, err = io.ReadAll(resp.Body); err != nil {
		t.Fatal(err)
	}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.fetches.Add(1)
		if h := m.hold.Load(); h != nil {
			select {
			case <-*h:
			case <-r.Context().Done():
				return
			}
		}
		_, _ = w.Write(m.body)
	}))
	t.Cleanup(m.Close)
	return m
}

// startLogin opens a protected page, which makes Gatehouse start a SAML login with corp: the
// connector needs its metadata for that.
func startLogin(t *testing.T, e *testenv.Env) {
	t.Helper()
	resp, body := e.NewBrowser().Get(t, e.URL("app.localhost", "/"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="password"`) {
		t.Fatalf("login did not reach the IdP: %d\n%s", resp.StatusCode, body)
	}
}

func updateIdP(t *testing.T, e *testenv.Env, id string, change func(*store.IdentityProvider)) {
	t.Helper()
	if _, err := e.G.Store.UpdateConfig(t.Context(), func(c *store.Config) error {
		for i := range c.IdentityProviders {
			if c.IdentityProviders[i].ID == id {
				change(&c.IdentityProviders[i])
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	e.G.Reload(t.Context(), store.Change{Config: true})
}

// TestConnectorsRebuiltOnlyWhenTheirConfigurationChanges: periodic re-reads and changes to other
// objects keep an identity provider's connector, with its fetched metadata; a change to the
// provider itself builds a new one. Every published snapshot carries the connector of each of its
// SAML providers (one state: never a provider without its connector).
func TestConnectorsRebuiltOnlyWhenTheirConfigurationChanges(t *testing.T) {
	idp := testenv.StartCrewjamIdP(t, "alice", "alice@example.com", nil)
	md := newMetadataServer(t, idp)
	e := testenv.Start(t, fmt.Sprintf(`
organization: {name: T, auth_domain: auth.localhost}
identity_providers:
  - {id: corp, name: Corp SAML, type: saml, config: {metadata_url: %s/metadata}}
  - {id: pin, name: E-mail PIN, type: onetimepin}
applications:
  - {id: app, name: App, destinations: [app.localhost], upstream: UPSTREAM, allowed_idps: [corp], policies: [{ref: all, precedence: 1}]}
policies:
  - {id: all, decision: allow, include: [{everyone: {}}]}
`, md.URL))
	_, spMetadata := e.NewBrowser().Get(t, e.URL("auth.localhost", "/.gatehouse/saml-metadata"))
	idp.RegisterSP(t, "gatehouse", []byte(spMetadata))
	startLogin(t, e)
	first := e.G.Snapshots.Load().Connector("corp")
	if first == nil || md.fetches.Load() != 1 {
		t.Fatalf("connector %v after %d metadata fetches", first, md.fetches.Load())
	}

	// The safety-net re-read of everything, several times.
	for range 3 {
		e.G.Reload(t.Context(), store.Change{Config: true, Revocations: true, Keys: true})
	}
	// Another provider changes: a new configuration version, the same SAML connector.
	updateIdP(t, e, "pin", func(p *store.IdentityProvider) { p.Name = "Mail me a code" })
	snap := e.G.Snapshots.Load()
	if snap.IdPByID["pin"].Name != "Mail me a code" {
		t.Fatal("the new configuration version is not in service")
	}
	if snap.Connector("corp") != first {
		t.Error("the SAML connector was rebuilt although its configuration did not change")
	}
	startLogin(t, e)
	if n := md.fetches.Load(); n != 1 {
		t.Errorf("%d metadata fetches, want 1: the connector's cache did not survive", n)
	}

	// The provider itself changes: a new connector, which fetches the metadata again.
	updateIdP(t, e, "corp", func(p *store.IdentityProvider) { p.Config["email_attribute_name"] = "mail" })
	snap = e.G.Snapshots.Load()
	if c := snap.Connector("corp"); c == nil || c == first {
		t.Fatalf("connector after its configuration changed: %v (first %v)", c, first)
	}
	startLogin(t, e)
	if n := md.fetches.Load(); n != 2 {
		t.Errorf("%d metadata fetches after the change, want 2", n)
	}
	if snap.PINSender("pin") == nil {
		t.Error("the onetimepin provider has no PIN sender in the published snapshot")
	}
}

// TestSlowMetadataDoesNotHoldReload: adding a SAML provider whose metadata server does not
// answer publishes the new configuration at once; logins through that provider wait for (and,
// here, fail with) the metadata while everything else keeps working.
func TestSlowMetadataDoesNotHoldReload(t *testing.T) {
	idp := testenv.StartCrewjamIdP(t, "alice", "alice@example.com", nil)
	md := newMetadataServer(t, idp)
	hold := make(chan struct{})
	md.hold.Store(&hold)
	defer close(hold)
	e := testenv.Start(t, "")
	if _, err := e.G.Store.UpdateConfig(t.Context(), func(c *store.Config) error {
		c.IdentityProviders = append(c.IdentityProviders, store.IdentityProvider{ID: "slow", Name: "Slow SAML", Type: store.IdPSAML,
			Config: map[string]any{"metadata_url": md.URL + "/metadata"}})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	reloaded := make(chan struct{})
	go func() {
		e.G.Reload(t.Context(), store.Change{Config: true})
		close(reloaded)
	}()
	// The fetch blocks until hold is closed (after the test); the metadata fetch timeout is 15 s.
	select {
	case <-reloaded:
	case <-time.After(10 * time.Second):
		t.Fatal("reload waited for the identity provider's metadata")
	}
	if e.G.Snapshots.Load().Connector("slow") == nil {
		t.Fatal("the new provider's connector was not published with its configuration")
	}
	// The PIN login is unaffected.
	b := e.NewBrowser()
	if resp, body := b.Login(t, e.URL("app.localhost", "/"), "alice@example.com"); resp.StatusCode != http.StatusOK {
		t.Fatalf("PIN login while a SAML provider's metadata hangs: %d %s", resp.StatusCode, body)
	}
}
