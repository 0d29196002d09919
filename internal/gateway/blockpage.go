package gateway

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/gateway/rules"
)

// BlockInfo is what the block page says about a refused request: the policy context.
type BlockInfo struct {
	// Status is the HTTP status answered (403 for a block rule).
	Status int
	// Title is the page's heading ("Blocked by your organisation").
	Title     string
	RuleID    string
	RuleName  string
	Reason    string
	UserEmail string
	App       string
	Site      string
	RequestID string
}

// blockStyle is the page's only style; the CSP allows exactly it, by hash.
const blockStyle = `body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f4f5f7;color:#1d2330}` +
	`main{max-width:36rem;margin:10vh auto;padding:2rem;background:#fff;border-radius:12px;box-shadow:0 1px 3px rgba(0,0,0,.12)}` +
	`h1{font-size:1.4rem;margin:0 0 .75rem}p{margin:.5rem 0}dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:1.25rem 0 0;font-size:.9rem}` +
	`dt{color:#5b6270}dd{margin:0;word-break:break-all}.brand{font-weight:600;color:#3a4ea8;font-size:.85rem;letter-spacing:.04em;text-transform:uppercase}` +
	`@media (prefers-color-scheme:dark){body{background:#15181e;color:#e6e8ec}main{background:#1f232b}dt{color:#a3a9b5}.brand{color:#9fb0ff}}`

var blockCSP = "default-src 'none'; style-src 'sha256-" + styleHash() + "'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

func styleHash() string {
	sum := sha256.Sum256([]byte(blockStyle))
	return base64.StdEncoding.EncodeToString(sum[:])
}

var blockTemplate = template.Must(template.New("block").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.Title}}</title>
<style>` + blockStyle + `</style>
</head>
<body>
<main role="main" aria-labelledby="title">
<p class="brand">Gatehouse Gateway</p>
<h1 id="title">{{.Title}}</h1>
{{if .Reason}}<p>{{.Reason}}</p>{{else}}<p>Your organisation's policy does not allow this request.</p>{{end}}
<p>If you think this is a mistake, contact your administrator and give them the reference ID below.</p>
<dl>
{{if .Site}}<dt>Site</dt><dd>{{.Site}}</dd>{{end}}
{{if .App}}<dt>Application</dt><dd>{{.App}}</dd>{{end}}
{{if or .RuleName .RuleID}}<dt>Rule</dt><dd>{{if .RuleName}}{{.RuleName}}{{end}}{{if and .RuleName .RuleID}} ({{end}}{{.RuleID}}{{if and .RuleName .RuleID}}){{end}}</dd>{{end}}
{{if .UserEmail}}<dt>User</dt><dd>{{.UserEmail}}</dd>{{end}}
<dt>Reference ID</dt><dd>{{.RequestID}}</dd>
</dl>
</main>
</body>
</html>
`))

// WantsHTML reports whether the client prefers an HTML page (a browser navigation) to JSON:
// its Accept field names text/html (or application/xhtml+xml) with a non-zero quality at
// least that of application/json.
func WantsHTML(r *http.Request) bool {
	htmlQ, jsonQ := -1.0, -1.0
	for _, part := range strings.Split(strings.Join(r.Header.Values("Accept"), ","), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if s, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(s, 64); err == nil {
				q = f
			}
		}
		switch mt {
		case "text/html", "application/xhtml+xml":
			htmlQ = max(htmlQ, q)
		case "application/json":
			jsonQ = max(jsonQ, q)
		}
	}
	return htmlQ > 0 && htmlQ >= jsonQ
}

// WriteBlock answers a refused request with the block page (HTML for browsers, JSON for API
// clients). Nothing the page shows comes from an error's text.
func WriteBlock(w http.ResponseWriter, r *http.Request, b *BlockInfo) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if b.Title == "" {
		b.Title = "Blocked by your organisation"
	}
	if WantsHTML(r) {
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", blockCSP)
		h.Set("X-Frame-Options", "DENY")
		w.WriteHeader(b.Status)
		_ = blockTemplate.Execute(w, b)
		return
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(b.Status)
	_ = json.NewEncoder(w).Encode(struct {
		Error     string `json:"error"`
		Message   string `json:"message"`
		RuleID    string `json:"rule_id,omitempty"`
		RuleName  string `json:"rule_name,omitempty"`
		Reason    string `json:"reason,omitempty"`
		UserEmail string `json:"user_email,omitempty"`
		App       string `json:"application_name,omitempty"`
		Site      string `json:"site_uri,omitempty"`
		RequestID string `json:"request_id"`
	}{"blocked", b.Title, b.RuleID, b.RuleName, b.Reason, b.UserEmail, b.App, b.Site, b.RequestID})
}

// policyContext is the context a redirect or block target receives with include_context.
func policyContext(e *entry, site, requestID, referer string) *rules.PolicyContext {
	pc := &rules.PolicyContext{SiteURI: site, RequestID: requestID, Referer: referer, ApplicationName: e.appName}
	if e.client.IsValid() {
		pc.SourceIP = e.client.String()
	}
	if e.id != nil {
		pc.UserEmail, pc.DeviceID = e.id.Email, e.id.DeviceID
	}
	return pc
}

// enforce acts on a request-phase decision: it answers blocks and redirects itself and reports
// whether the request may go on. site is the request's full URL.
func (g *Gateway) enforce(w http.ResponseWriter, r *http.Request, e *entry, d rules.Decision, site string) bool {
	switch d.Action {
	case rules.ActionBlock:
		g.block(w, r, e, d, site, "")
		return false
	case rules.ActionRedirect:
		target, ok := d.Rule.TargetURL(r.URL, policyContext(e, site, e.requestID, r.Referer()))
		if !ok {
			g.block(w, r, e, d, site, "")
			return false
		}
		e.status, e.outcome = http.StatusTemporaryRedirect, "redirected"
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, target, http.StatusTemporaryRedirect)
		return false
	}
	return true
}

// block answers a blocked request: a redirect to the rule's block_page target, the block page
// (block_page_enabled, or the default action), or a bare refusal.
func (g *Gateway) block(w http.ResponseWriter, r *http.Request, e *entry, d rules.Decision, site, reason string) {
	e.status, e.outcome = http.StatusForbidden, "blocked"
	if d.Rule != nil {
		if target, ok := d.Rule.TargetURL(r.URL, policyContext(e, site, e.requestID, r.Referer())); ok {
			e.status = http.StatusTemporaryRedirect
			w.Header().Set("Cache-Control", "no-store")
			http.Redirect(w, r, target, http.StatusTemporaryRedirect)
			return
		}
		if reason == "" {
			reason = d.Rule.RuleSettings.BlockReason
		}
	}
	if d.Rule != nil && !d.Rule.RuleSettings.BlockPageEnabled && reason == d.Rule.RuleSettings.BlockReason {
		// The rule asks for no block page: a bare refusal that still gives the reference.
		h := w.Header()
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte("Blocked by the Gatehouse gateway (reference " + e.requestID + ").\n"))
		return
	}
	b := &BlockInfo{Status: http.StatusForbidden, RuleID: d.RuleID(), RuleName: d.RuleName(), Reason: reason,
		App: e.appName, Site: site, RequestID: e.requestID}
	if e.id != nil {
		b.UserEmail = e.id.Email
	}
	WriteBlock(w, r, b)
}
