// Package launcher owns the App Launcher: the auth domain's root page, listing as tiles the
// applications a signed-in user may reach. It is gated by the policies of the organization's
// app_launcher application and only lists applications with app_launcher_visible whose policies
// the user passes; other applications are never shown.
package launcher

import (
	"net/http"
	"net/netip"

	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/policy"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/web"
	"github.com/gatehouse/gatehouse/internal/wire"
)

// Tile is one application on the launcher.
type Tile struct {
	ID, Name, URL, LogoURL, Kind string
}

// Launcher serves the App Launcher.
type Launcher struct {
	Snapshots *snapshot.Holder
	// Authorize logs the user in (or blocks them) for the app_launcher application.
	Authorize func(w http.ResponseWriter, r *http.Request, app *snapshot.App, returnPath string) (*session.Grant, bool)
	// Fallback serves the root when no app_launcher application is configured.
	Fallback http.Handler
}

// ServeHTTP serves the auth domain root.
func (l *Launcher) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	snap := l.Snapshots.Load()
	var launcherApp *snapshot.App
	for _, a := range snap.Apps {
		if a.Type == store.AppAppLauncher {
			launcherApp = a
		}
	}
	if launcherApp == nil {
		l.Fallback.ServeHTTP(w, r)
		return
	}
	g, handled := l.Authorize(w, r, launcherApp, "/")
	if handled {
		return
	}
	c := httpx.ClientOf(r)
	tiles := Tiles(snap, g.Identity, c.IP, c.Country)
	web.Render(w, http.StatusOK, "launcher.html", &web.Page{Title: "Applications", Brand: web.BrandOf(&snap.Org), Wide: true,
		Data: map[string]any{"Tiles": tiles, "Email": g.Identity.Email, "LogoutURL": snap.Profile.Path(wire.EndpointLogout)}})
}

// Tiles returns the launcher tiles for a user, in configuration order: visible self_hosted, saas
// and bookmark applications whose policies admit the user (a bookmark without policies is shown
// to every launcher user).
func Tiles(snap *snapshot.Snapshot, id *identity.Identity, ip netip.Addr, country string) []Tile {
	var out []Tile
	for _, a := range snap.Ordered() {
		if !a.AppLauncherVisible {
			continue
		}
		link := snap.AppURL(a)
		if link == "" {
			continue
		}
		if !(a.Type == store.AppBookmark && len(a.Application.Policies) == 0) {
			d := a.Policies.Evaluate(&policy.Input{Identity: id, ClientIP: ip, Country: country})
			if d.Action != policy.ActionAllow && d.Action != policy.ActionBypass {
				continue
			}
		}
		logo := a.LogoURL
		if web.LogoURLProblem(logo) != "" {
			logo = "" // the tile shows a monogram instead
		}
		out = append(out, Tile{ID: a.ID, Name: a.Name, URL: link, LogoURL: logo, Kind: a.Type})
	}
	return out
}
