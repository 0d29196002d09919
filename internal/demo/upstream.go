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
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Gatehouse demo app</title>
<style>
*,*::before,*::after{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;line-height:1.5;color:#1d2330;background:#f4f5f7;margin:0}
header{background:#0f766e;color:#fff;padding:.75rem 0}
header p{max-width:60rem;margin:0 auto;padding:0 1rem;font-weight:600}
main{max-width:60rem;margin:1.5rem auto;padding:0 1rem}
section{background:#fff;border-radius:10px;box-shadow:0 1px 3px rgba(16,24,40,.12);padding:1rem 1.25rem;margin:1rem 0}
h1{font-size:1.5rem;margin:.5rem 0;overflow-wrap:anywhere}h2{font-size:1.15rem;margin:.25rem 0 .75rem}
code,pre,td{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85rem}
pre{background:#f4f5f7;padding:.75rem;border-radius:6px;overflow:auto;white-space:pre-wrap;overflow-wrap:anywhere;margin:0}
.bad{color:#b42318}
table.headers{width:100%;border-collapse:collapse}
table.headers th,table.headers td{text-align:left;vertical-align:top;padding:.4rem .5rem;border-bottom:1px solid #d3d8e0}
table.headers th{white-space:nowrap;font-weight:600;font-size:.85rem;width:1%}table.headers th.value{width:auto}
table.headers td{overflow-wrap:anywhere;word-break:normal}
@media (max-width:640px){table.headers,table.headers tbody,table.headers tr,table.headers th,table.headers td{display:block;width:auto}
table.headers thead{display:none}table.headers tr{border-bottom:1px solid #d3d8e0;padding:.4rem 0}
table.headers th,table.headers td{border:0;padding:.1rem .25rem;white-space:normal;overflow-wrap:anywhere}}
a.button{display:inline-flex;align-items:center;min-height:44px;padding:.6rem 1.25rem;border-radius:6px;background:#1a3f9e;color:#fff;font-weight:600;text-decoration:none}
:focus-visible{outline:3px solid #b45309;outline-offset:2px}
</style></head>
<body><header><p>Gatehouse demo app</p></header>
<main>
<h1>Hello{{with .Email}}, {{.}}{{end}}</h1>
<p>This is the demo upstream behind Gatehouse. It received <code>{{.Method}} {{.Path}}</code>.</p>
<section aria-labelledby="claims"><h2 id="claims">JWT claims ({{if .Verified}}signature, issuer and audience verified{{else}}<strong class="bad">not verified</strong>: {{.VerifyError}}{{end}})</h2>
<pre>{{.Claims}}</pre></section>
<section aria-labelledby="hdrs"><h2 id="hdrs">Request headers</h2>
<table class="headers"><thead><tr><th scope="col">Name</th><th scope="col" class="value">Value</th></tr></thead>
<tbody>{{range .Headers}}<tr><th scope="row">{{.Name}}</th><td>{{.Value}}</td></tr>{{end}}</tbody></table></section>
<p><a class="button" href="{{.Logout}}">Sign out</a></p>
</main>
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
