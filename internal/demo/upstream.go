// Package demo owns `gatehouse demo`: the built-in demo upstream, which shows the headers it
// received and the claims of the JWT Gatehouse sent (verified as an origin would verify them), and
// the demo configuration.
package demo

import (
	"encoding/json"
	"html/template"
	"net/http"
	"sort"
	"strings"

	"github.com/gatehouse/gatehouse/internal/token"
	"github.com/gatehouse/gatehouse/internal/wire"
)

// Upstream is the demo origin.
type Upstream struct {
	// Verifier checks the JWT header; nil shows claims as unverified.
	Verifier *token.Verifier
	Profile  *wire.Profile
	// Audiences returns the audience tags the origin accepts: those of the applications it
	// serves.
	Audiences func() []string
}

// hasAudience reports whether c is for one of the applications the origin serves.
func (u *Upstream) hasAudience(c *token.Claims) bool {
	if u.Audiences == nil {
		return false
	}
	for _, aud := range u.Audiences() {
		if c.HasAudience(aud) {
			return true
		}
	}
	return false
}

var page = template.Must(template.New("demo").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Gatehouse demo app</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
pre{background:#f4f5f7;padding:1rem;border-radius:6px;overflow:auto}table{border-collapse:collapse}
td{border-bottom:1px solid #ddd;padding:.25rem .75rem;font-family:monospace;font-size:.85rem;vertical-align:top;word-break:break-all}</style></head>
<body><h1>Hello{{with .Email}}, {{.}}{{end}}</h1>
<p>This is the demo upstream behind Gatehouse. It received <code>{{.Method}} {{.Path}}</code>.</p>
<h2>JWT claims ({{if .Verified}}signature, issuer and audience verified{{else}}<strong>not verified</strong>: {{.VerifyError}}{{end}})</h2>
<pre>{{.Claims}}</pre>
<h2>Request headers</h2>
<table>{{range .Headers}}<tr><td>{{.Name}}</td><td>{{.Value}}</td></tr>{{end}}</table>
<p><a href="{{.Logout}}">Sign out</a></p>
</body></html>`))

type header struct{ Name, Value string }

// ServeHTTP implements http.Handler. /json returns the same facts as JSON (used by tests and
// benchmarks), /sse streams a few events, everything else renders the page.
func (u *Upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw := r.Header.Get(u.Profile.JWTHeader)
	var claims *token.Claims
	verifyErr := "no JWT header"
	if raw != "" && u.Verifier != nil {
		c, err := u.Verifier.Verify(raw)
		switch {
		case err != nil:
			verifyErr = err.Error()
		case !u.hasAudience(c):
			verifyErr = "audience mismatch"
		default:
			claims, verifyErr = c, ""
		}
	}
	if strings.HasSuffix(r.URL.Path, "/json") {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"method": r.Method, "path": r.URL.Path, "raw_path": r.URL.RawPath, "query": r.URL.RawQuery,
			"headers": r.Header, "claims": claims, "verify_error": verifyErr, "host": r.Host})
		return
	}
	var headers []header
	for name, vs := range r.Header {
		for _, v := range vs {
			if name == u.Profile.JWTHeader && len(v) > 48 {
				v = v[:48] + "…"
			}
			headers = append(headers, header{name, v})
		}
	}
	sort.Slice(headers, func(i, j int) bool { return headers[i].Name < headers[j].Name })
	pretty := "(none)"
	if claims != nil {
		b, _ := json.MarshalIndent(claims, "", "  ")
		pretty = string(b)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = page.Execute(w, map[string]any{"Email": r.Header.Get(u.Profile.EmailHeader), "Method": r.Method, "Path": r.URL.RequestURI(),
		"Verified": claims != nil, "VerifyError": verifyErr, "Claims": pretty, "Headers": headers,
		"Logout": u.Profile.Path(wire.EndpointLogout)})
}
