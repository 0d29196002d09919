package console

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/web"
)

// checkerCSP is CSP with connections to the console's own origin: the gateway rules page's
// script asks the console whether an expression compiles as it is typed. Every other page
// keeps CSP (no connections at all).
var checkerCSP = strings.Replace(CSP, "default-src 'none';", "default-src 'none'; connect-src 'self';", 1)

// exprCheck is the outcome of checking one expression, as the rules page and its script show
// it.
type exprCheck struct {
	// Checked: an expression was given (the empty expression is not checked: it is true).
	Checked bool                     `json:"checked"`
	OK      bool                     `json:"ok"`
	Problem *admin.ExpressionProblem `json:"problem,omitempty"`
	// Error is a refusal of the check itself (too long, not UTF-8).
	Error string `json:"error,omitempty"`
}

// checkExpression checks src with the gateway's compiler through the admin service.
func (c *Console) checkExpression(src string) (exprCheck, error) {
	if strings.TrimSpace(src) == "" {
		return exprCheck{}, nil
	}
	p, err := c.Admin.CheckGatewayExpression(src)
	switch {
	case err == nil:
		return exprCheck{Checked: true, OK: p == nil, Problem: p}, nil
	case unavailable(err):
		return exprCheck{}, err
	default:
		e := adminError("The check", err)
		var he *httpx.Error
		if errors.As(e, &he) && he.Status == http.StatusBadRequest {
			return exprCheck{Checked: true, Error: he.Public}, nil
		}
		return exprCheck{}, e
	}
}

// gatewayRules shows gateway.rules in precedence order, read-only (they are the configuration
// file's), with the expression checker: ?expr= checks an expression without script.
func (c *Console) gatewayRules(q *req) error {
	rs, def, err := c.Admin.GatewayRules()
	if unavailable(err) {
		return c.render(q, "gateway_rules.html", "Gateway rules", map[string]any{"Disabled": true})
	}
	if err != nil {
		return adminError("The gateway rules", err)
	}
	expr := q.r.URL.Query().Get("expr")
	check, err := c.checkExpression(expr)
	if err != nil {
		return err
	}
	q.csp = checkerCSP
	return c.render(q, "gateway_rules.html", "Gateway rules", map[string]any{"Rules": rs, "DefaultAction": def, "Expr": expr,
		"Check": check, "MaxBytes": int64(admin.MaxExpressionBytes)})
}

// checkRule answers the rules page's script: ?expr= checked, as JSON.
func (c *Console) checkRule(q *req) error {
	check, err := c.checkExpression(q.r.URL.Query().Get("expr"))
	if err != nil {
		return err
	}
	h := q.w.Header()
	web.SetSecurityHeaders(h)
	h.Set("Content-Security-Policy", CSP)
	h.Set("Content-Type", "application/json; charset=utf-8")
	b, err := json.Marshal(check)
	if err != nil {
		return adminError("The check", err)
	}
	h.Set("Content-Length", strconv.Itoa(len(b)))
	q.w.WriteHeader(http.StatusOK)
	if q.r.Method != http.MethodHead {
		_, _ = q.w.Write(b)
	}
	return nil
}

// dlpProfiles lists the DLP profiles with their entries and the text test.
func (c *Console) dlpProfiles(q *req) error {
	return c.renderDLP(q, "", "", nil, "")
}

// testDLP scans the posted text (form fields profile and text) with a profile and shows the
// redacted findings. It changes nothing (read-only roles may use it) but posts the text so
// that it never lands in a URL or an access log; the admin service records the test.
func (c *Console) testDLP(q *req) error {
	profile, text := q.r.PostForm.Get("profile"), q.r.PostForm.Get("text")
	if len(text) > admin.MaxDLPTestBytes {
		return c.renderDLP(q, profile, "", nil, "The text is longer than "+fmtBytes(admin.MaxDLPTestBytes)+": paste less.")
	}
	if strings.TrimSpace(text) == "" {
		return c.renderDLP(q, profile, "", nil, "Paste some text to scan.")
	}
	res, err := c.Admin.TestDLPProfile(q.r.Context(), q.actor(), profile, text)
	if err != nil {
		return adminError("The DLP test", err)
	}
	// The text is not shown again: it may hold the very secrets the findings redact.
	return c.renderDLP(q, profile, text, res, "")
}

func (c *Console) renderDLP(q *req, profile, text string, res *admin.DLPScan, problem string) error {
	ps, err := c.Admin.DLPProfiles()
	if unavailable(err) {
		return c.render(q, "dlp.html", "DLP profiles", map[string]any{"Disabled": true})
	}
	if err != nil {
		return adminError("The DLP profiles", err)
	}
	if profile == "" && len(ps) > 0 {
		profile = ps[0].ID
	}
	status := http.StatusOK
	if problem != "" {
		status = http.StatusBadRequest
	}
	return c.renderStatus(q, status, "dlp.html", "DLP profiles", map[string]any{"Profiles": ps, "Profile": profile, "Result": res,
		"Problem": problem, "Scanned": len(text), "MaxBytes": int64(admin.MaxDLPTestBytes)})
}
