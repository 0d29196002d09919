package app_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/ai/promptlog"
	"github.com/gatehouse/gatehouse/internal/dlp"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/token"
)

// TestBrowserConsole drives the admin console in a real headless Chromium: the administrator
// signs in at the console and sees the overview; every console page passes axe-core (no
// serious or critical violation), does not scroll sideways at phone width, has 44px tap
// targets and a visible keyboard focus, and is kept as a screenshot; the administrator revokes
// another browser's session (its next request is refused), sets ChatGPT unapproved in the AI
// app library (the gateway blocks it on the next request) and decrypts a captured prompt in
// the browser with a private key the server never receives.
func TestBrowserConsole(t *testing.T) {
	axe := axeSource(t)
	o := newOrigin(t)
	pub, priv, err := dlp.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	cfg := consoleConfig + fmt.Sprintf("service_tokens: [{id: ci, client_id: %s, client_secret: %q}]\n", gwClientID, gwSecret) + `gateway:
  hosts: {chatgpt.com: 127.0.0.1}
  allowed_private_networks: [127.0.0.0/8]
  rules:
    - id: no-unapproved
      name: No unapproved AI
      precedence: 10
      enabled: true
      action: block
      traffic: any(app.statuses[*] == "unapproved")
      rule_settings: {block_page_enabled: true, block_reason: Use the approved assistant.}
dlp: {payload_log: {public_key: "` + base64.StdEncoding.EncodeToString(pub) + `"}}
`
	e := testenv.StartGateway(t, cfg)

	// A captured prompt, sealed to the organisation's key as the gateway seals them.
	const secretPrompt = "Summarise the Q3 board minutes: revenue 4.2M, layoffs planned in Lyon"
	sealed, err := promptlog.Seal(pub, &promptlog.Payload{Prompt: secretPrompt, Response: "Here is a summary…"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.G.Store.(store.PromptLogs).AppendPromptLogs(t.Context(), []store.PromptLog{{Time: e.Clock.Now(), RequestID: "r1",
		UserEmail: "bob@example.com", AppID: "1199", AppName: "ChatGPT", AppType: "Artificial Intelligence", AppStatus: "unreviewed",
		Control: "SendPrompt", PolicyAction: "allow", Topics: []store.PromptLogTopic{{ID: "content_financial", Confidence: "high"}},
		BytesUp: int64(len(secretPrompt)), PayloadEnc: sealed}}); err != nil {
		t.Fatal(err)
	}

	// Through the gateway, ChatGPT answers (nobody reviewed it yet).
	gw := proxyClient(t, e, nil)
	chatgpt := "http://chatgpt.com:" + port(t, o.URL) + "/backend-api/conversation"
	gwStatus := func() int {
		t.Helper()
		resp, err := gw.Get(chatgpt)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := gwStatus(); got != http.StatusOK {
		t.Fatalf("ChatGPT through the gateway before the review: %d", got)
	}

	ctx := testenv.NewChromium(t, 4*time.Minute)
	c := &pageChecker{t: t, axe: axe, dir: artifactDir(t)}
	must := func(step string, err error) {
		t.Helper()
		if err != nil {
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			body, _ := chromedp.Run(ctx, chromedp.Text(`body`))
			t.Fatalf("%s: %v (at %s)\n%s", step, err, loc, body)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(sel))
		must("read "+sel, err)
		return s
	}
	console := func(p string) string { return e.URL("auth.localhost", consoleRoot+p) }

	// Sign in at the console and land on the overview.
	must("console login", chromedp.Do(ctx, chromedp.Navigate(console("")), waitVisible(`#email`),
		chromedp.SendKeys(`#email`, "alice@example.com"), chromedp.Submit(`#email`), waitVisible(`#code`)))
	must("PIN", chromedp.Do(ctx, chromedp.SendKeys(`#code`, e.PINs.Wait(t, "alice@example.com")), chromedp.Submit(`#code`), waitVisible(`ul.tiles`)))
	if h := text(`h1`); h != "Overview" {
		t.Fatalf("after the login: %q", h)
	}
	c.check(ctx, "console-overview")

	// Another browser of alice's uses the app; the administrator revokes that session.
	other := loggedIn(t, e)
	claims, err := token.NewVerifier(e.G.Keys, e.G.Snapshots.Load().Issuer, e.Clock.Now).Verify(appCookie(t, e, other, "app.localhost"))
	if err != nil {
		t.Fatal(err)
	}
	proxied := func() int {
		req, _ := http.NewRequest(http.MethodGet, e.URL("app.localhost", "/"), nil)
		req.Header.Set("Accept", "application/json")
		resp, _ := other.Do(t, req)
		return resp.StatusCode
	}
	if got := proxied(); got != http.StatusOK {
		t.Fatalf("other browser: %d", got)
	}
	must("users", chromedp.Do(ctx, chromedp.Navigate(console("users")), waitVisible(`table.data`)))
	c.check(ctx, "console-users")
	must("user", chromedp.Do(ctx, chromedp.Navigate(console("user?id="+claims.Subject)), waitVisible(`table.data`)))
	c.check(ctx, "console-user")
	sel := `input[name=session][value="` + claims.IdentityNonce + `"] ~ button`
	must("revoke session", chromedp.Do(ctx, chromedp.Click(sel), waitVisible(`p.notice`)))
	if n := text(`p.notice`); !strings.Contains(n, "The session was revoked") {
		t.Errorf("notice after revoking: %q", n)
	}
	if got := proxied(); got != http.StatusUnauthorized {
		t.Errorf("the revoked session's next request: %d, want 401", got)
	}

	// The AI app library: set ChatGPT unapproved; the gateway blocks it on the next request.
	must("apps", chromedp.Do(ctx, chromedp.Navigate(console("apps?q=ChatGPT")), waitVisible(`form.inline select`)))
	c.check(ctx, "console-apps")
	must("set unapproved", chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`(() => { const f = [...document.querySelectorAll('form.inline')].find(f => f.closest('tr').querySelector('strong').textContent === 'ChatGPT'); f.querySelector('select').value = 'unapproved'; f.querySelector('button').click(); })()`),
		waitVisible(`p.notice`)))
	if got := gwStatus(); got != http.StatusForbidden {
		t.Errorf("ChatGPT through the gateway after the console set it unapproved: %d, want 403", got)
	}
	if s := text(`main`); !strings.Contains(s, "unapproved") {
		t.Errorf("the library does not show the new status")
	}

	// The prompt log viewer decrypts in the browser.
	must("prompts", chromedp.Do(ctx, chromedp.Navigate(console("logs/prompts")), waitVisible(`li.prompt`)))
	c.check(ctx, "console-prompts")
	if s := text(`ol.prompts`); strings.Contains(s, secretPrompt) {
		t.Fatal("the page shows the prompt before it was decrypted")
	}
	must("decrypt", chromedp.Do(ctx, chromedp.SendKeys(`#pl-key`, "public_key: "+base64.StdEncoding.EncodeToString(pub)+"\nprivate_key: "+base64.StdEncoding.EncodeToString(priv)),
		chromedp.Click(`#pl-decrypt`), waitVisible(`pre.pl-prompt`)))
	if got := text(`pre.pl-prompt`); got != secretPrompt {
		t.Errorf("decrypted prompt %q (status %q)", got, text(`#pl-status`))
	}
	if v, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('pl-key').value`)); v != "" {
		t.Error("the key stays in the text area after decrypting")
	}
	c.check(ctx, "console-prompts-decrypted")
	must("forget", chromedp.Do(ctx, chromedp.Click(`#pl-forget`)))
	if s := text(`ol.prompts`); strings.Contains(s, secretPrompt) {
		t.Error("the prompt is still shown after forgetting the key")
	}

	// A policy and an application made with the console's forms; alice then reaches the new
	// application (her sign-in on the auth domain lets her in without another login).
	setValue := func(sel, v string) chromedp.Action[chromedp.Void] {
		q, _ := json.Marshal(sel)
		val, _ := json.Marshal(v)
		return chromedp.Evaluate[chromedp.Void](`(() => { document.querySelector(` + string(q) + `).value = ` + string(val) + `; })()`)
	}
	submit := chromedp.Evaluate[chromedp.Void](`document.querySelector('form.editor button[type=submit]').click()`)
	must("policy form", chromedp.Do(ctx, chromedp.Navigate(console("objects/edit?kind=policies")), waitVisible(`#f-include-emails`)))
	c.check(ctx, "console-policy-form")
	must("create policy", chromedp.Do(ctx, setValue(`#f-id`, "form-staff"), setValue(`#f-name`, "Staff (form)"),
		setValue(`#f-include-emails`, "alice@example.com"), setValue(`#f-exclude-countries`, "KP"), submit, waitVisible(`p.notice`)))
	if n := text(`p.notice`); !strings.Contains(n, "The object was created") {
		t.Errorf("notice after creating the policy: %q", n)
	}
	must("application form", chromedp.Do(ctx, chromedp.Navigate(console("objects/edit?kind=applications")), waitVisible(`#f-destinations`)))
	must("application with a bad upstream", chromedp.Do(ctx, setValue(`#f-id`, "formapp"), setValue(`#f-name`, "Form app"),
		setValue(`#f-destinations`, "formapp.localhost"), setValue(`#f-upstream`, "ftp://"+strings.TrimPrefix(e.Upstream.URL, "http://")),
		setValue(`input[name="precedence.form-staff"]`, "1"), submit, waitVisible(`#f-upstream-problems`)))
	if p := text(`#f-upstream-problems`); !strings.Contains(p, "upstream:") {
		t.Errorf("the upstream's problem: %q", p)
	}
	c.check(ctx, "console-application-form-problems")
	must("create application", chromedp.Do(ctx, setValue(`#f-upstream`, e.Upstream.URL), submit, waitVisible(`p.notice`)))
	if n := text(`p.notice`); !strings.Contains(n, "The object was created") {
		t.Errorf("notice after creating the application: %q", n)
	}
	c.check(ctx, "console-application-form")
	must("reach the new application", chromedp.Do(ctx, chromedp.Navigate(e.URL("formapp.localhost", "/made-in-the-console")), waitVisible(`body`)))
	if s := text(`body`); !strings.Contains(s, `"path":"/made-in-the-console"`) || !strings.Contains(s, "alice@example.com") {
		t.Errorf("the application made with the forms answered:\n%s", s)
	}
	must("file policy", chromedp.Do(ctx, chromedp.Navigate(console("objects/edit?kind=policies&id=admins")), waitVisible(`fieldset[disabled]`)))
	c.check(ctx, "console-policy-form-file")

	// A service token made in the console shows its secret once.
	must("new token", chromedp.Do(ctx, chromedp.Navigate(console("identities")), waitVisible(`#tok-name`), setValue(`#tok-name`, "Deploy bot"),
		setValue(`#tok-duration`, "720h"), submit, waitVisible(`#client-secret`)))
	if s := text(`#client-secret`); len(s) != 64 {
		t.Errorf("client secret %q", s)
	}
	c.check(ctx, "console-token-secret")

	// Gateway rules: an expression is checked as it is typed, without submitting the form.
	waitJS := func(what, cond string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			for {
				ok, _ := chromedp.Evaluate[bool](cond)(ctx, tg)
				if ok {
					return nil
				}
				select {
				case <-ctx.Done():
					return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
				case <-time.After(50 * time.Millisecond):
				}
			}
		})
	}
	must("gateway rules", chromedp.Do(ctx, chromedp.Navigate(console("gateway/rules")), waitVisible(`#expr`)))
	if s := text(`table.data`); !strings.Contains(s, "no-unapproved") || !strings.Contains(s, `any(app.statuses[*] == "unapproved")`) {
		t.Errorf("the rules page shows:\n%s", s)
	}
	c.check(ctx, "console-gateway-rules")
	must("type a bad expression", chromedp.Do(ctx, chromedp.Click(`#expr`), chromedp.SendKeys(`#expr`, `http.request.method == "GET" and http.request.nope == "x"`),
		waitJS("the problem", `document.querySelector('#expr-result p.problems')?.textContent.includes('http.request.nope')`)))
	if s := text(`#expr-result`); !strings.Contains(s, "Line 1, column 34") {
		t.Errorf("the problem shown: %q", s)
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); loc != console("gateway/rules") {
		t.Errorf("the check navigated to %s", loc)
	}
	c.check(ctx, "console-gateway-rules-problem")
	must("fix the expression", chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`(() => { const e = document.getElementById('expr'); e.value = e.value.replace('http.request.nope', 'http.request.host'); e.dispatchEvent(new Event('input')); })()`),
		waitJS("the expression accepted", `document.querySelector('#expr-result p.notice')?.textContent === 'The expression compiles.'`)))
	if v, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('expr').getAttribute('aria-invalid')`)); v != "false" {
		t.Errorf("aria-invalid after the fix: %q", v)
	}

	// DLP profiles: a card number pasted into the test is found and shown redacted.
	const card = "4539148803436467"
	must("dlp", chromedp.Do(ctx, chromedp.Navigate(console("dlp")), waitVisible(`#dlp-text`)))
	c.check(ctx, "console-dlp")
	must("dlp test", chromedp.Do(ctx, setValue(`#dlp-profile`, "financial_information"), setValue(`#dlp-text`, "charge card "+card+" for the renewal"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('form.editor button[type=submit]').click()`), waitVisible(`#dlp-result`)))
	if s := text(`#dlp-result`); !strings.Contains(s, "The profile matches") || !strings.Contains(s, "payment_card") || strings.Contains(s, card) {
		t.Errorf("DLP result:\n%s", s)
	}
	if html, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`)); strings.Contains(html, card) {
		t.Error("the page echoes the card number")
	}
	c.check(ctx, "console-dlp-result")

	// Every other page.
	for _, p := range []struct{ path, name, sel string }{
		{"access?app=app&email=bob%40example.com&method=mfa&country=DE", "console-access", `div.result`},
		{"identities", "console-identities", `table.data`},
		{"objects?kind=policies", "console-objects", `#new-json`},
		{"object?kind=policies&id=admins", "console-object", `pre.object`},
		{"devices", "console-devices", `table.data`},
		{"mcp", "console-mcp", `h1`},
		{"logs/access", "console-log-access", `table.data`},
		{"logs/audit", "console-log-audit", `table.data`},
		{"logs/mcp", "console-log-mcp", `h1`},
		{"reports/shadow-it", "console-report-shadow-it", `svg.chart`},
		{"reports/ai", "console-report-ai", `svg.chart`},
		{"reports/access", "console-report-access", `svg.chart`},
	} {
		must(p.name, chromedp.Do(ctx, chromedp.Navigate(console(p.path)), waitVisible(p.sel)))
		c.check(ctx, p.name)
	}
	// Shadow IT names who uses the unapproved app (here the gateway's service token).
	must("shadow IT", chromedp.Do(ctx, chromedp.Navigate(console("reports/shadow-it")), waitVisible(`#top-apps`)))
	if s := text(`#top-apps`); !strings.Contains(s, "ChatGPT") || !strings.Contains(s, "service token ci") {
		t.Errorf("top unapproved apps:\n%s", s)
	}
	// The audit log shows the console's own changes with the administrator as actor.
	must("audit", chromedp.Do(ctx, chromedp.Navigate(console("logs/audit?actor=alice@example.com")), waitVisible(`table.data`)))
	audit := text(`table.data`)
	for _, action := range []string{"user.revoke_session", "gateway_app.review", "gateway.prompt_logs.read", "reports.ai_security.read", "policy.create", "application.create", "service_token.create", "dlp.profile.test"} {
		if !strings.Contains(audit, action) {
			t.Errorf("audit log lacks %s:\n%s", action, audit)
		}
	}
}
