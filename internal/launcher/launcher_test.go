package launcher

import (
	"net/netip"
	"testing"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
)

// TestTileLogos: a tile carries its app's https: logo; a logo the pages would refuse (http:,
// javascript:) is dropped, so the page shows the app's monogram instead.
func TestTileLogos(t *testing.T) {
	app := func(id, name, logo string) store.Application {
		return store.Application{ID: id, Type: store.AppSelfHosted, Name: name, AUD: id + "-aud", Upstream: "http://127.0.0.1:1",
			Destinations: []store.Destination{{Type: "public", URI: id + ".example.com"}}, AppLauncherVisible: true, LogoURL: logo,
			Policies: []store.PolicyLink{{Ref: "all", Precedence: 1}}}
	}
	cfg := &store.Config{
		Version:      1,
		Organization: store.Organization{Name: "Example", AuthDomain: "auth.example.com"},
		Policies:     []store.Policy{{ID: "all", Decision: store.DecisionAllow, Include: []store.Rule{{Everyone: &store.Empty{}}}}},
		Applications: []store.Application{
			app("wiki", "Wiki", "https://cdn.example.com/wiki.png"),
			app("old", "Old logo", "http://cdn.example.com/old.png"),
			app("evil", "Evil", "javascript:alert(1)"),
			app("plain", "Plain", ""),
		},
	}
	snap, err := snapshot.Compile(cfg, snapshot.Options{Scheme: "https", Port: 443})
	if err != nil {
		t.Fatal(err)
	}
	tiles := Tiles(snap, &identity.Identity{Email: "a@example.com"}, netip.MustParseAddr("192.0.2.1"), "")
	want := map[string]string{"wiki": "https://cdn.example.com/wiki.png", "old": "", "evil": "", "plain": ""}
	if len(tiles) != len(want) {
		t.Fatalf("tiles %+v", tiles)
	}
	for _, tl := range tiles {
		if tl.LogoURL != want[tl.ID] {
			t.Errorf("tile %s logo %q, want %q", tl.ID, tl.LogoURL, want[tl.ID])
		}
	}
	if got := snap.AppURL(snap.Apps["wiki"]); got != "https://wiki.example.com/" {
		t.Errorf("AppURL(wiki) = %q", got)
	}
	if got := snap.AppURL(nil); got != "" {
		t.Errorf("AppURL(nil) = %q", got)
	}
}
