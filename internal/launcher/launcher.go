// Package launcher owns the App Launcher: the auth domain's root page, listing as tiles the
// applications a signed-in user may reach. It is gated by the policies of the organization's
// app_launcher application and only lists applications with app_launcher_visible whose policies
// the user passes; other applications are never shown.
package launcher

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"

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
		link := tileURL(snap, a)
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

// AppURL is where a link to application a leads (its tile's URL), or "" when it has none (a is
// nil, or its destinations are all wildcards).
func AppURL(snap *snapshot.Snapshot, a *snapshot.App) string {
	if a == nil {
		return ""
	}
	return tileURL(snap, a)
}

// tileURL is where a tile leads: the self-hosted app's domain, the SaaS app's login URL, or
// the bookmark's URL. Only http(s) URLs are ever rendered.
func tileURL(snap *snapshot.Snapshot, a *snapshot.App) string {
	switch a.Type {
	case "", store.AppSelfHosted:
		d := a.Domain
		if d == "" {
			for _, dest := range a.Destinations {
				if dest.Type == "public" && !strings.Contains(dest.URI, "*") {
					d = dest.URI
					break
				}
			}
		}
		if d == "" || strings.Contains(d, "*") {
			return ""
		}
		host, path, _ := strings.Cut(d, "/")
		return snap.URL(host) + "/" + path
	case store.AppSaaS:
		if a.SaaSApp == nil {
			return ""
		}
		if a.SaaSApp.AuthType == store.SaaSAuthSAML && a.SaaSApp.DefaultRelayState != "" {
			return snap.Issuer + snap.Profile.Path("sso/saml/"+a.ID)
		}
		return safeURL(a.SaaSApp.AppLauncherURL)
	case store.AppBookmark:
		return safeURL(a.Domain)
	}
	return ""
}

func safeURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return ""
	}
	return u.String()
}
