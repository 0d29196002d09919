package oidcop

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/saas"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Limits on authorization request parameters.
const (
	maxFormBytes = 64 << 10
	maxStateLen  = 4096
	maxNonceLen  = 512
)

// authzError is an error returned to the client at its redirect URI.
type authzError struct {
	code, description, reason string
}

// serveAuthorization handles an authorization request (GET, or POST with a form body): it
// checks the client and redirect URI (errors on an error page), then everything else (errors
// redirected to the client), has the user logged in and admitted by the app's policies, and
// redirects to the client with a new code.
func (p *Provider) serveAuthorization(w http.ResponseWriter, r *http.Request, ep *endpoint) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		p.failPage(w, r, ep.snap, &store.AuthEvent{Action: actionSSO, AppID: ep.app.ID},
			httpx.Errorf(http.StatusBadRequest, "oidc-request-malformed", "The sign-in request is malformed.", err))
		return
	}
	form := r.Form
	fail := func(reason, public string) {
		p.failPage(w, r, ep.snap, &store.AuthEvent{Action: actionSSO, AppID: ep.app.ID}, httpx.Errorf(http.StatusBadRequest, reason, public, nil))
	}
	clientID, dup := single(form, "client_id")
	switch {
	case dup:
		fail("oidc-request-malformed", "The sign-in request repeats client_id.")
		return
	case clientID == "":
		fail("oidc-client-id-missing", "The sign-in request names no client (client_id).")
		return
	case clientID != ep.cfg.ClientID:
		fail("oidc-client-id-unknown", "The sign-in request names a client (client_id) this application does not have.")
		return
	}
	redirectURI, dup := single(form, "redirect_uri")
	switch {
	case dup:
		fail("oidc-request-malformed", "The sign-in request repeats redirect_uri.")
		return
	case redirectURI == "":
		fail("oidc-redirect-uri-missing", "The sign-in request has no redirect_uri.")
		return
	case !slices.Contains(ep.cfg.RedirectURIs, redirectURI):
		// Exact match only: no normalization, prefixes or wildcards (security rule 15).
		fail("oidc-redirect-uri-mismatch", "The application asked to return to an address (redirect_uri) that is not registered for it.")
		return
	}
	target, err := url.Parse(redirectURI)
	if err != nil || !target.IsAbs() {
		fail("oidc-redirect-uri-invalid", "The registered redirect_uri is not a valid URL.")
		return
	}
	state := form.Get("state")
	toClient := func(e *authzError) {
		p.audit(r, &store.AuthEvent{Action: actionSSO, AppID: ep.app.ID, Reasons: []string{e.reason}})
		v := url.Values{"error": {e.code}, "error_description": {e.description}, "iss": {ep.issuer}}
		if state != "" && len(form["state"]) == 1 && len(state) <= maxStateLen {
			v.Set("state", state)
		}
		redirect(w, target, v)
	}

	ar, aerr := p.parseAuthorization(form, ep)
	if aerr != nil {
		toClient(aerr)
		return
	}

	authorize := p.env.Authorize
	if authorize == nil {
		p.failPage(w, r, ep.snap, &store.AuthEvent{Action: actionSSO, AppID: ep.app.ID},
			httpx.Errorf(http.StatusServiceUnavailable, "oidc-not-configured", "Sign-in is not available.", nil))
		return
	}
	fresh, returnForm := p.freshness(ar, form)
	returnPath := ep.path + "/" + pathAuthorization + "?" + returnForm.Encode()
	var g *session.Grant
	if ar.promptNone {
		// No user interaction allowed: turn whatever page the login step would have shown into
		// an error for the client.
		var outcome saas.PassiveOutcome
		g, outcome = p.env.AuthorizePassive(r, ep.app, returnPath, fresh)
		switch outcome {
		case saas.PassiveLoginRequired:
			toClient(&authzError{"login_required", "The user is not signed in, or not recently enough (max_age).", "oidc-login-required"})
			return
		case saas.PassiveDenied:
			toClient(&authzError{"access_denied", "The application's policies deny the user.", "oidc-policy-denied"})
			return
		}
	} else {
		var handled bool
		g, handled = authorize(w, r, ep.app, returnPath, fresh)
		if handled {
			return
		}
	}
	if g == nil || g.Identity == nil || g.Identity.UserID == "" {
		p.failPage(w, r, ep.snap, &store.AuthEvent{Action: actionSSO, AppID: ep.app.ID},
			httpx.Errorf(http.StatusInternalServerError, "oidc-grant-incomplete", "Something went wrong on our side.", errors.New("Authorize returned no user")))
		return
	}
	id := g.Identity
	ev := &store.AuthEvent{Action: actionSSO, UserID: id.UserID, Email: id.Email, AppID: ep.app.ID,
		IdPID: id.IdP.ID, IdPType: id.IdP.Type, PolicyID: g.Decision.PolicyID}
	if _, missing := p.userClaims(ep.cfg, id, ar.scopes); missing != "" {
		p.failPage(w, r, ep.snap, ev, httpx.Errorf(http.StatusForbidden, "oidc-required-claim-missing",
			"Your identity provider did not send an attribute this application requires ("+missing+").", nil))
		return
	}
	sess, err := p.env.Store.GetSession(r.Context(), g.SessionID)
	if err != nil {
		p.failPage(w, r, ep.snap, ev, httpx.Errorf(http.StatusServiceUnavailable, "oidc-session-unavailable", "Sign-in is temporarily unavailable. Try again shortly.", err))
		return
	}
	identJSON, err := json.Marshal(id)
	if err != nil {
		p.failPage(w, r, ep.snap, ev, httpx.Errorf(http.StatusInternalServerError, "internal-error", "Something went wrong on our side.", err))
		return
	}
	code := randomValue()
	now := p.now()
	err = p.env.Store.CreateOIDCCode(r.Context(), &store.OIDCCode{
		CodeHash: hashValue(code), GrantID: randomValue()[:32], AppID: ep.app.ID, ClientID: clientID,
		RedirectURI: redirectURI, CodeChallenge: ar.challenge, Nonce: ar.nonce, Scopes: ar.scopes,
		UserID: id.UserID, SessionID: g.SessionID, AuthTime: sess.CreatedAt, Identity: identJSON,
		CreatedAt: now, ExpiresAt: now.Add(CodeLifetime),
	})
	if err != nil {
		p.failPage(w, r, ep.snap, ev, httpx.Errorf(http.StatusServiceUnavailable, "store-unavailable", "Sign-in is temporarily unavailable. Try again shortly.", err))
		return
	}
	ev.Allowed = true
	ev.Reasons = append(slices.Clone(g.Decision.Reasons), "oidc-code-issued")
	p.audit(r, ev)
	v := url.Values{"code": {code}, "iss": {ep.issuer}}
	if state != "" {
		v.Set("state", state)
	}
	redirect(w, target, v)
}

// authorizationRequest is a checked authorization request.
type authorizationRequest struct {
	scopes     []string
	challenge  string
	nonce      string
	promptNone bool
	// promptLogin asks for a fresh login (prompt=login).
	promptLogin bool
	// maxAge, when not negative, is the oldest login (seconds) the client accepts (max_age).
	maxAge int64
	// loginAfter, when set, is when an earlier pass of this request asked the user to log in
	// again for prompt=login (the internal continuation parameter).
	loginAfter time.Time
}

// paramLoginAfter carries, in the URL a forced login returns to, when the authorization request
// that asked for it (prompt=login) arrived, so the request does not ask again. It is not an OIDC
// parameter and a client never sends it; like every front-channel parameter a browser could
// alter it, which is why relying parties check auth_time, and auth_time is always exact.
const paramLoginAfter = "gatehouse_login_after"

// freshness is what the request asks of the login behind the grant (session.Freshness), and the
// authorization request a login it starts comes back to: prompt=login becomes the time it was
// asked, so that the fresh session that results satisfies it.
func (p *Provider) freshness(ar *authorizationRequest, form url.Values) (session.Freshness, url.Values) {
	now := p.now()
	var fresh session.Freshness
	if ar.maxAge >= 0 {
		fresh.AuthAfter = now.Add(-time.Duration(ar.maxAge) * time.Second)
	}
	back := url.Values{}
	for k, v := range form {
		back[k] = v
	}
	switch {
	case ar.promptLogin:
		fresh.AuthAfter = laterOf(fresh.AuthAfter, now)
		prompts := slices.DeleteFunc(strings.Fields(form.Get("prompt")), func(s string) bool { return s == "login" })
		back.Del("prompt")
		if len(prompts) > 0 {
			back.Set("prompt", strings.Join(prompts, " "))
		}
		back.Set(paramLoginAfter, strconv.FormatInt(now.Unix(), 10))
	case !ar.loginAfter.IsZero():
		fresh.AuthAfter = laterOf(fresh.AuthAfter, ar.loginAfter)
	}
	return fresh, back
}

func laterOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// parseAuthorization checks everything but client_id and redirect_uri.
func (p *Provider) parseAuthorization(form url.Values, ep *endpoint) (*authorizationRequest, *authzError) {
	for k, vs := range form {
		if len(vs) > 1 {
			return nil, &authzError{"invalid_request", repeated(k), "oidc-request-malformed"}
		}
	}
	if form.Has("request") {
		return nil, &authzError{"request_not_supported", "request objects are not supported", "oidc-request-object-refused"}
	}
	if form.Has("request_uri") {
		return nil, &authzError{"request_uri_not_supported", "request_uri is not supported", "oidc-request-object-refused"}
	}
	switch rt := form.Get("response_type"); {
	case rt == "":
		return nil, &authzError{"invalid_request", "response_type is missing", "oidc-response-type-missing"}
	case rt != "code":
		return nil, &authzError{"unsupported_response_type", "only response_type=code is supported (hybrid and implicit flows are not)", "oidc-response-type-refused"}
	}
	if rm := form.Get("response_mode"); rm != "" && rm != "query" {
		return nil, &authzError{"invalid_request", "only response_mode=query is supported", "oidc-response-mode-refused"}
	}
	if len(form.Get("state")) > maxStateLen {
		return nil, &authzError{"invalid_request", "state is too long", "oidc-request-malformed"}
	}
	ar := &authorizationRequest{nonce: form.Get("nonce")}
	if len(ar.nonce) > maxNonceLen {
		return nil, &authzError{"invalid_request", "nonce is too long", "oidc-request-malformed"}
	}
	if ep.resource != "" {
		// An MCP portal: the client must say which resource it wants a token for (RFC 8707,
		// mandatory in the MCP authorization specification), and openid is optional.
		switch res := form.Get("resource"); {
		case res == "":
			return nil, &authzError{"invalid_target", "resource is required: the portal's URL " + ep.resource, "mcp-resource-missing"}
		case strings.TrimSuffix(res, "/") != ep.resource:
			return nil, &authzError{"invalid_target", "resource must be this portal's URL " + ep.resource, "mcp-resource-mismatch"}
		}
		ar.scopes = mcpScopes(form.Get("scope"))
	} else {
		scopes, ok := grantScopes(form.Get("scope"), ep.cfg)
		if !ok {
			return nil, &authzError{"invalid_scope", "scope must include openid", "oidc-scope-openid-missing"}
		}
		ar.scopes = scopes
	}

	ar.challenge = form.Get("code_challenge")
	method := form.Get("code_challenge_method")
	switch {
	case method != "" && method != "S256":
		return nil, &authzError{"invalid_request", "code_challenge_method must be S256 (plain is not accepted)", "oidc-pkce-method-refused"}
	case ar.challenge != "" && method == "":
		// RFC 7636 defaults a missing method to plain, which is refused.
		return nil, &authzError{"invalid_request", "code_challenge_method=S256 is required with code_challenge", "oidc-pkce-method-refused"}
	case ar.challenge == "" && method != "":
		return nil, &authzError{"invalid_request", "code_challenge is missing", "oidc-pkce-invalid"}
	case ar.challenge == "" && pkceRequired(ep.cfg):
		return nil, &authzError{"invalid_request", "PKCE is required: send code_challenge with code_challenge_method=S256", "oidc-pkce-required"}
	case ar.challenge != "" && !validChallenge(ar.challenge):
		return nil, &authzError{"invalid_request", "code_challenge is not a base64url SHA-256 value", "oidc-pkce-invalid"}
	}

	prompts := strings.Fields(form.Get("prompt"))
	if slices.Contains(prompts, "none") {
		if len(prompts) > 1 {
			return nil, &authzError{"invalid_request", "prompt=none cannot be combined with other values", "oidc-request-malformed"}
		}
		ar.promptNone = true
	}
	// consent and select_account need nothing from Gatehouse (there is no consent screen, and
	// the org session is the account); login forces a new login.
	ar.promptLogin = slices.Contains(prompts, "login")
	ar.maxAge = -1
	if v := form.Get("max_age"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n > maxMaxAge {
			return nil, &authzError{"invalid_request", "max_age must be a number of seconds", "oidc-request-malformed"}
		}
		ar.maxAge = n
	}
	if v := form.Get(paramLoginAfter); v != "" {
		sec, err := strconv.ParseInt(v, 10, 64)
		// Only a recent past time is meaningful: a forced login comes back within a login flow.
		if at := time.Unix(sec, 0); err == nil && !at.After(p.now()) && p.now().Sub(at) <= maxLoginWait {
			ar.loginAfter = at
		}
	}
	return ar, nil
}

// maxMaxAge bounds max_age (ten years): larger values mean "any login".
const maxMaxAge = 10 * 365 * 24 * 3600

// maxLoginWait is how long a forced login may take before its continuation asks again.
const maxLoginWait = time.Hour

// knownParams are the parameters error descriptions may name; others are never reflected.
var knownParams = []string{"response_type", "client_id", "redirect_uri", "scope", "state", "nonce", "code_challenge", "resource",
	"code_challenge_method", "prompt", "response_mode", "grant_type", "code", "code_verifier", "refresh_token",
	"client_secret", "max_age", "login_hint", "id_token_hint", "ui_locales", "claims", "request", "request_uri"}

// repeated describes a repeated parameter without reflecting unknown names.
func repeated(name string) string {
	if slices.Contains(knownParams, name) {
		return "parameter " + name + " is repeated"
	}
	return "a parameter is repeated"
}

// single returns the value of a parameter and whether it was repeated.
func single(form url.Values, name string) (string, bool) {
	vs := form[name]
	if len(vs) == 0 {
		return "", false
	}
	return vs[0], len(vs) > 1
}

// validChallenge reports whether s is a base64url-encoded (unpadded) SHA-256: 43 characters.
func validChallenge(s string) bool {
	if len(s) != 43 {
		return false
	}
	_, err := b64.Strict().DecodeString(s)
	return err == nil
}

// validVerifier reports whether s is an RFC 7636 code_verifier: 43 to 128 unreserved characters.
func validVerifier(s string) bool {
	if len(s) < 43 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '~':
		default:
			return false
		}
	}
	return true
}

// redirect sends the browser to target with params added to its query (the registered
// redirect URI's own query is kept as registered).
func redirect(w http.ResponseWriter, target *url.URL, params url.Values) {
	u := *target
	if u.RawQuery == "" {
		u.RawQuery = params.Encode()
	} else {
		u.RawQuery += "&" + params.Encode()
	}
	h := w.Header()
	h.Set("Location", u.String())
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(http.StatusFound)
}

// discardWriter swallows a response and keeps its status.
