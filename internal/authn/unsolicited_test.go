package authn

import (
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
)

// TestUnsolicitedTarget: an IdP-initiated login follows its RelayState only to a protected
// application's URL (security rule 13); everything else lands on the auth domain.
func TestUnsolicitedTarget(t *testing.T) {
	cfg := &store.Config{
		Organization:      store.Organization{Name: "T", AuthDomain: "auth.example.com"},
		IdentityProviders: []store.IdentityProvider{{ID: "pin", Name: "PIN", Type: store.IdPOneTimePIN}},
		Applications: []store.Application{
			{ID: "wiki", Type: store.AppSelfHosted, Name: "Wiki", Upstream: "http://127.0.0.1:1",
				Destinations: []store.Destination{{Type: "public", URI: "wiki.example.com"}}},
			{ID: "team", Type: store.AppSelfHosted, Name: "Team", Upstream: "http://127.0.0.1:1",
				Destinations: []store.Destination{{Type: "public", URI: "*.team.example.com"}}},
		},
	}
	snap, err := snapshot.Compile(cfg, snapshot.Options{Scheme: "https", Port: 443})
	if err != nil {
		t.Fatal(err)
	}
	home := snap.Issuer + "/"
	cases := map[string]string{
		"https://wiki.example.com/page?x=1":        "https://wiki.example.com/page?x=1",
		"https://WIKI.example.com/a/../b":          "https://WIKI.example.com/b",
		"https://a.team.example.com/":              "https://a.team.example.com/",
		"":                                         home,
		"/relative":                                home,
		"//wiki.example.com/":                      home,
		"http://wiki.example.com/":                 home, // https deployment: no downgrade
		"https://evil.example/":                    home,
		"https://wiki.example.com.evil.example/":   home,
		"https://evil.example\\.team.example.com/": home,
		"https://user:pw@wiki.example.com/":        home,
		"https://wiki.example.com\\@evil.example/": home,
		"javascript:alert(1)":                      home,
		"https://wiki.example.com/\r\nSet-Cookie:": home,
		"https://wiki.example.com/%2e%2e%2fadmin":  home, // ambiguous encoding
		"opaque-relay-state-from-the-idp":          home,
	}
	for in, want := range cases {
		if got := unsolicitedTarget(snap, in); got != want {
			t.Errorf("unsolicitedTarget(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzUnsolicitedTarget: whatever the RelayState, the target is the auth domain's home or an
// https URL whose host and path route to an application, with no backslash, control character
// or userinfo in it.
func FuzzUnsolicitedTarget(f *testing.F) {
	cfg := &store.Config{
		Organization:      store.Organization{Name: "T", AuthDomain: "auth.example.com"},
		IdentityProviders: []store.IdentityProvider{{ID: "pin", Name: "PIN", Type: store.IdPOneTimePIN}},
		Applications: []store.Application{{ID: "wiki", Type: store.AppSelfHosted, Name: "Wiki", Upstream: "http://127.0.0.1:1",
			Destinations: []store.Destination{{Type: "public", URI: "wiki.example.com/docs/*"}}}},
	}
	snap, err := snapshot.Compile(cfg, snapshot.Options{Scheme: "https", Port: 443})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"https://wiki.example.com/docs/a", "https://wiki.example.com/x", "https://wiki.example.com\\@e/", "//e"} {
		f.Add(s)
	}
	home := snap.Issuer + "/"
	f.Fuzz(func(t *testing.T, relay string) {
		got := unsolicitedTarget(snap, relay)
		if got == home {
			return
		}
		u, err := url.Parse(got)
		if err != nil || u.Scheme != "https" || u.User != nil || strings.ContainsAny(got, "\\\x00\r\n\t") {
			t.Fatalf("%q -> %q", relay, got)
		}
		if id, ok := snap.Routes.Match(strings.ToLower(u.Hostname()), u.EscapedPath()); !ok || id != "wiki" {
			t.Fatalf("%q -> %q, which routes to no application", relay, got)
		}
	})
}
