// Package samlidp makes Gatehouse the SAML 2.0 identity provider of SaaS applications (Access
// for SaaS, application type "saas" with saas_app.auth_type "saml"). Each application gets its
// own IdP on the auth domain:
//
//	<prefix>sso/saml/<app id>                 SSO endpoint and IdP entity ID
//	<prefix>sso/saml/<app id>/saml-metadata   IdP metadata
//
// What it accepts:
//
//   - SP-initiated logins: an AuthnRequest over HTTP-Redirect (DEFLATE, inflated with a bound)
//     or HTTP-POST (base64; a DEFLATEd body, as node-saml sends by default, is inflated with
//     the same bound). The XML is refused with a DOCTYPE or any directive, when it is not
//     round-trip stable, deeper than samlxml.MaxDepth or larger than MaxRequestBytes, and it is
//     read namespace-exactly. Its Issuer must be the application's sp_entity_id; an
//     AssertionConsumerServiceURL, when present, must equal consumer_service_url byte for byte,
//     an AssertionConsumerServiceIndex may only be 0, and a ProtocolBinding may only be
//     HTTP-POST. The Response always goes to the configured consumer_service_url, never to a
//     URL taken from the request.
//   - Request signatures are neither required nor checked: the request only selects the
//     application and carries an ID and a RelayState back to the SP, and everything the
//     Response is bound to (audience, ACS, NameID, attributes) comes from the configuration.
//     A forged request can therefore only make a signed-in user's browser post their own
//     assertion to the application's own ACS, which an IdP-initiated login does as well.
//   - IdP-initiated logins: a GET on the SSO endpoint without a SAMLRequest sends an
//     unsolicited Response whose RelayState is default_relay_state.
//   - ForceAuthn="true" is answered only from a login at or after the request (an older org
//     session logs in again, and the identity provider is asked to authenticate anew);
//     IsPassive="true" never shows a page: without a qualifying session the SP gets a signed
//     Response with Responder/NoPassive (RequestDenied when the policies deny the user).
//     NameIDPolicy and RequestedAuthnContext are not honoured: the application's configuration
//     decides the NameID format, and AuthnInstant tells the SP when the user really signed in.
//
// Across the login the validated request waits in the store (store.PendingSAMLRequest, single
// use, PendingLifetime); the browser carries only its random ID. saas.Env.Authorize signs the
// user in and evaluates the application's policies before any assertion is built.
//
// What it sends: a samlp:Response and its saml:Assertion, both signed (enveloped, exclusive
// C14N, RSA-SHA256, SHA-256 digests) with the current key of keys.Manager and its certificate
// in KeyInfo, built as a DOM (etree) and never by string concatenation. The metadata publishes
// the current certificate and every rotated-out one still inside its overlap.
//
// Every SSO is an auth event with action "saas_sso": issued assertions and every failure
// (with a "saml-…" reason) are recorded here, policy denials by Authorize. A failure's event
// carries the reference ID its error page shows (RequestID).
package samlidp

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/saas"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/web"
)

// EndpointMetadata is the path after the SSO endpoint that serves the IdP metadata.
const EndpointMetadata = "saml-metadata"

// Lifetimes.
const (
	// PendingLifetime is how long an SP-initiated request waits for its user to sign in
	// (the login flow's lifetime).
	PendingLifetime = 15 * time.Minute
	// AssertionLifetime is how long after issue an assertion may be used.
	AssertionLifetime = 5 * time.Minute
	// ClockSkew is how far before issue an assertion's Conditions already hold, for SPs whose
	// clock is slightly behind.
	ClockSkew = time.Minute
)

// AuthAction is the auth event action of every SaaS SSO.
const AuthAction = "saas_sso"

// queryPending carries the ID of a pending SP-initiated request in the SSO URL.
const queryPending = "pending"

// IdP is the SAML identity provider of every SAML SaaS application. It is safe for concurrent
// use.
type IdP struct {
	env saas.Env
}

// New returns the IdP for env. env.Log and env.Now may be nil (discard, time.Now).
func New(env saas.Env) *IdP {
	if env.Log == nil {
		env.Log = slog.New(slog.DiscardHandler)
	}
	if env.Now == nil {
		env.Now = time.Now
	}
	return &IdP{env: env}
}

func (p *IdP) now() time.Time { return p.env.Now().UTC() }

// ServeHTTP serves app's endpoints; rest is the path after <prefix>sso/saml/<app id>/ ("" for
// the SSO endpoint itself).
func (p *IdP) ServeHTTP(w http.ResponseWriter, r *http.Request, app *snapshot.App, rest string) {
	snap := p.env.Snapshots.Load()
	if snap == nil || app == nil || app.Type != store.AppSaaS || app.SaaSApp == nil || app.SaaSApp.AuthType != store.SaaSAuthSAML {
		p.fail(w, r, snap, httpx.Errorf(http.StatusNotFound, "saas-app-unknown", "There is no such application.", nil))
		return
	}
	switch rest {
	case "":
		p.serveSSO(w, r, snap, app)
	case EndpointMetadata:
		p.serveMetadata(w, r, snap, app)
	default:
		p.fail(w, r, snap, httpx.Errorf(http.StatusNotFound, "not-found", "This page does not exist.", nil))
	}
}

// EntityID returns the IdP entity ID of app, which is also its SSO URL.
func EntityID(snap *snapshot.Snapshot, app *snapshot.App) string {
	return snap.Issuer + ssoPath(snap, app)
}

// MetadataURL returns the URL of app's IdP metadata.
func MetadataURL(snap *snapshot.Snapshot, app *snapshot.App) string {
	return EntityID(snap, app) + "/" + EndpointMetadata
}

func ssoPath(snap *snapshot.Snapshot, app *snapshot.App) string {
	return snap.Profile.Prefix + "sso/saml/" + url.PathEscape(app.ID)
}

// serveSSO dispatches the SSO endpoint: a pending request coming back from the login, a new
// SP-initiated request, or an IdP-initiated login.
func (p *IdP) serveSSO(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, app *snapshot.App) {
	switch r.Method {
	case http.MethodGet:
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		if err := r.ParseForm(); err != nil {
			p.reject(w, r, snap, app, http.StatusBadRequest, "saml-request-too-large", errors.New("form body unreadable or too large"))
			return
		}
	default:
		w.Header().Set("Allow", "GET, POST")
		p.reject(w, r, snap, app, http.StatusMethodNotAllowed, "method-not-allowed", errors.New(r.Method+" on the SSO endpoint"))
		return
	}
	q := r.URL.Query()
	if r.Method == http.MethodGet && q.Has(queryPending) {
		fresh, ok := p.pendingFreshness(q)
		if !ok {
			p.reject(w, r, snap, app, http.StatusBadRequest, "saml-request-malformed", errors.New("pending request URL with other parameters"))
			return
		}
		p.continuePending(w, r, snap, app, q.Get(queryPending), fresh)
		return
	}
	params := q
	binding := bindingRedirect
	if r.Method == http.MethodPost {
		params, binding = r.PostForm, bindingPOST
	}
	if !params.Has("SAMLRequest") {
		if r.Method == http.MethodPost {
			p.reject(w, r, snap, app, http.StatusBadRequest, "saml-request-missing", errors.New("POST without SAMLRequest"))
			return
		}
		p.idpInitiated(w, r, snap, app)
		return
	}
	req, err := parseRequest(params, binding, &expect{
		spEntityID: app.SaaSApp.SPEntityID,
		acs:        app.SaaSApp.ConsumerServiceURL,
		idpSSO:     EntityID(snap, app),
	})
	if err != nil {
		p.reject(w, r, snap, app, http.StatusBadRequest, reasonOf(err), err)
		return
	}
	now := p.now()
	if req.IsPassive {
		// No interaction: answer at once, with the user or with NoPassive. A forced fresh login
		// needs interaction by definition.
		var grant *session.Grant
		outcome := saas.PassiveLoginRequired
		if !req.ForceAuthn {
			grant, outcome = p.env.AuthorizePassive(r, app, ssoPath(snap, app), session.Freshness{})
		}
		if outcome != saas.PassiveGranted {
			p.respondNoPassive(w, r, snap, app, req, outcome)
			return
		}
		p.respond(w, r, snap, app, grant, req.ID, req.RelayState)
		return
	}
	pending := &store.PendingSAMLRequest{
		ID: randomID(), AppID: app.ID, RequestID: req.ID, RelayState: req.RelayState,
		SPEntityID: app.SaaSApp.SPEntityID, ACSURL: app.SaaSApp.ConsumerServiceURL,
		CreatedAt: now, ExpiresAt: now.Add(PendingLifetime),
	}
	if err := p.env.Store.CreatePendingSAMLRequest(r.Context(), pending); err != nil {
		p.deny(w, r, snap, app, nil, http.StatusServiceUnavailable, "store-unavailable", publicUnavailable, err)
		return
	}
	var fresh session.Freshness
	if req.ForceAuthn {
		fresh.AuthAfter = now
	}
	p.continuePending(w, r, snap, app, pending.ID, fresh)
}

// respondNoPassive answers a passive request that cannot be met without interaction (or that the
// policies refuse) with a signed Response whose status is Responder/NoPassive (RequestDenied for a
// policy denial), posted to the configured ACS.
func (p *IdP) respondNoPassive(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, app *snapshot.App, req *authnRequest, outcome saas.PassiveOutcome) {
	cfg := app.SaaSApp
	second, reason := statusNoPassive, "saml-no-passive"
	if outcome == saas.PassiveDenied {
		second, reason = statusRequestDenied, "saml-passive-denied"
	}
	signer, cert, err := signingKey(p.env.SAMLKeys)
	if err != nil {
		p.deny(w, r, snap, app, nil, http.StatusServiceUnavailable, "saml-signing-failed", publicUnavailable, err)
		return
	}
	raw, err := buildStatusResponse(EntityID(snap, app), cfg.ConsumerServiceURL, req.ID, statusResponder, second, p.now(), signer, cert)
	if err != nil {
		p.deny(w, r, snap, app, nil, http.StatusInternalServerError, "saml-signing-failed", publicUnavailable, err)
		return
	}
	p.event(r, app, nil, false, "", []string{reason}, "")
	fields := map[string][]string{"SAMLResponse": {base64.StdEncoding.EncodeToString(raw)}}
	if req.RelayState != "" {
		fields["RelayState"] = []string{req.RelayState}
	}
	web.RenderAutoPost(w, snap.Org.Name, cfg.ConsumerServiceURL, fields)
}

// queryAuthAfter carries, in the URL a login returns to, the time a ForceAuthn request arrived
// (Unix seconds): the session that answers it must be from a login at or after then. Like the
// request itself (SP signatures are not required) a browser could drop it; the assertion's
// AuthnInstant is always the time of the login behind it.
const queryAuthAfter = "auth_after"

// pendingFreshness reads the continuation URL of a pending request: its ID and, for ForceAuthn,
// the time the fresh login must follow. ok is false for any other shape.
func (p *IdP) pendingFreshness(q url.Values) (session.Freshness, bool) {
	if len(q[queryPending]) != 1 {
		return session.Freshness{}, false
	}
	switch len(q) {
	case 1:
		return session.Freshness{}, true
	case 2:
		if len(q[queryAuthAfter]) != 1 {
			return session.Freshness{}, false
		}
		sec, err := strconv.ParseInt(q.Get(queryAuthAfter), 10, 64)
		at := time.Unix(sec, 0)
		if err != nil || at.After(p.now()) || p.now().Sub(at) > PendingLifetime {
			return session.Freshness{}, false
		}
		return session.Freshness{AuthAfter: at}, true
	}
	return session.Freshness{}, false
}

// continuePending signs the user in (coming back to this URL when they have no session yet, or
// none as fresh as ForceAuthn asked), then consumes the pending request and answers it.
func (p *IdP) continuePending(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, app *snapshot.App, id string, fresh session.Freshness) {
	back := url.Values{queryPending: {id}}
	if !fresh.AuthAfter.IsZero() {
		back.Set(queryAuthAfter, strconv.FormatInt(fresh.AuthAfter.Unix(), 10))
	}
	returnPath := ssoPath(snap, app) + "?" + back.Encode()
	grant, handled := p.env.Authorize(w, r, app, returnPath, fresh)
	if handled {
		return
	}
	pending, err := p.env.Store.ConsumePendingSAMLRequest(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		p.deny(w, r, snap, app, grant, http.StatusBadRequest, "saml-request-expired",
			"This sign-in request has expired. Go back to the application and sign in again.", err)
		return
	case errors.Is(err, store.ErrConflict):
		p.deny(w, r, snap, app, grant, http.StatusBadRequest, "saml-request-replayed",
			"This sign-in request was already used. Go back to the application and sign in again.", err)
		return
	case err != nil:
		p.deny(w, r, snap, app, grant, http.StatusServiceUnavailable, "store-unavailable", publicUnavailable, err)
		return
	}
	cfg := app.SaaSApp
	if pending.AppID != app.ID || pending.SPEntityID != cfg.SPEntityID || pending.ACSURL != cfg.ConsumerServiceURL {
		p.deny(w, r, snap, app, grant, http.StatusBadRequest, "saml-request-stale",
			"This sign-in request no longer matches the application. Go back to the application and sign in again.",
			errors.New("pending request was made for another application or an older SP configuration"))
		return
	}
	p.respond(w, r, snap, app, grant, pending.RequestID, pending.RelayState)
}

// idpInitiated answers a GET without a SAMLRequest with an unsolicited Response.
func (p *IdP) idpInitiated(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, app *snapshot.App) {
	if len(r.URL.Query()) != 0 {
		p.reject(w, r, snap, app, http.StatusBadRequest, "saml-request-malformed", errors.New("unexpected parameters without SAMLRequest"))
		return
	}
	grant, handled := p.env.Authorize(w, r, app, ssoPath(snap, app), session.Freshness{})
	if handled {
		return
	}
	relay := app.SaaSApp.DefaultRelayState
	if relay != "" {
		if msg := urlProblem(relay); msg != "" {
			p.deny(w, r, snap, app, grant, http.StatusInternalServerError, "saml-app-misconfigured", misconfigured,
				errors.New("default_relay_state "+msg))
			return
		}
	}
	p.respond(w, r, snap, app, grant, "", relay)
}

const misconfigured = "This application is not set up correctly for sign-in. Contact your administrator."

// respond builds, signs and posts the Response to the configured ACS, and records the event.
func (p *IdP) respond(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, app *snapshot.App, grant *session.Grant, inResponseTo, relayState string) {
	if grant == nil || grant.Identity == nil {
		p.deny(w, r, snap, app, grant, http.StatusInternalServerError, "saml-no-identity", publicUnavailable,
			errors.New("Authorize returned no identity"))
		return
	}
	cfg := app.SaaSApp
	if msg := urlProblem(cfg.ConsumerServiceURL); msg != "" {
		p.deny(w, r, snap, app, grant, http.StatusInternalServerError, "saml-app-misconfigured", misconfigured,
			errors.New("consumer_service_url "+msg))
		return
	}
	id := grant.Identity
	attrs, err := attributes(id, cfg)
	if err != nil {
		p.deny(w, r, snap, app, grant, http.StatusForbidden, reasonOf(err),
			"Your sign-in did not provide information this application requires. Contact your administrator.", err)
		return
	}
	nameID, err := subjectNameID(id, cfg.NameIDFormat)
	if err != nil {
		p.deny(w, r, snap, app, grant, http.StatusForbidden, reasonOf(err),
			"Your sign-in did not provide information this application requires. Contact your administrator.", err)
		return
	}
	now := p.now()
	authnInstant, sessionEnd := now, time.Time{}
	if sess, err := p.env.Store.GetSession(r.Context(), grant.SessionID); err == nil {
		authnInstant, sessionEnd = sess.CreatedAt, sess.ExpiresAt
	} else if !errors.Is(err, store.ErrNotFound) {
		p.deny(w, r, snap, app, grant, http.StatusServiceUnavailable, "store-unavailable", publicUnavailable, err)
		return
	}
	signer, cert, err := signingKey(p.env.SAMLKeys)
	if err != nil {
		p.deny(w, r, snap, app, grant, http.StatusServiceUnavailable, "saml-signing-failed", publicUnavailable, err)
		return
	}
	raw, err := buildResponse(&responseParams{
		IssuerID: EntityID(snap, app), Audience: cfg.SPEntityID, ACS: cfg.ConsumerServiceURL,
		InResponseTo: inResponseTo, NameID: nameID, Attributes: attrs, AMR: id.AMR,
		SessionIndex: sessionIndex(grant.SessionID), AuthnInstant: authnInstant, SessionNotOnOrAfter: sessionEnd,
		Now: now, Signer: signer, Cert: cert,
	})
	if err != nil {
		p.deny(w, r, snap, app, grant, http.StatusInternalServerError, "saml-signing-failed", publicUnavailable, err)
		return
	}
	how := "saml-sp-initiated"
	if inResponseTo == "" {
		how = "saml-idp-initiated"
	}
	p.event(r, app, grant, true, grant.Decision.PolicyID, append([]string{how}, grant.Decision.Reasons...), "")
	fields := map[string][]string{"SAMLResponse": {base64.StdEncoding.EncodeToString(raw)}}
	if relayState != "" {
		fields["RelayState"] = []string{relayState}
	}
	web.RenderAutoPost(w, snap.Org.Name, cfg.ConsumerServiceURL, fields)
}

// reject records a request that failed before any user was known and renders the error page;
// the event and the page carry the same reference.
func (p *IdP) reject(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, app *snapshot.App, status int, reason string, cause error) {
	p.deny(w, r, snap, app, nil, status, reason, publicRequestError, cause)
}

const publicRequestError = "The application sent a sign-in request Gatehouse cannot accept. Contact your administrator."

// deny records a failed SSO (grant is nil when no user is known yet) and renders the error
// page; the event's RequestID is the reference on the page.
func (p *IdP) deny(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, app *snapshot.App, grant *session.Grant, status int, reason, public string, cause error) {
	err := httpx.Errorf(status, reason, public, cause)
	err.Ref = httpx.NewRequestID()
	p.event(r, app, grant, false, "", []string{reason}, err.Ref)
	p.fail(w, r, snap, err)
}

// event records one saas_sso auth event; ref is the reference of the error page shown, if any.
func (p *IdP) event(r *http.Request, app *snapshot.App, grant *session.Grant, allowed bool, policyID string, reasons []string, ref string) {
	if p.env.Audit == nil {
		return
	}
	e := &store.AuthEvent{Action: AuthAction, Allowed: allowed, AppID: app.ID, PolicyID: policyID, Reasons: reasons, RequestID: ref}
	if grant != nil && grant.Identity != nil {
		id := grant.Identity
		e.UserID, e.Email, e.IdPID, e.IdPType = id.UserID, id.Email, id.IdP.ID, id.IdP.Type
	}
	if c := httpx.ClientOf(r); c.IP.IsValid() {
		e.IP, e.Country = c.IP.String(), c.Country
	}
	p.env.Audit.Auth(r.Context(), e)
}

// fail renders an error page; users see only its public message. Failures of an SSO go
// through deny or reject, which also record the event; fail alone is for requests that are no
// sign-in attempt (unknown application or page, metadata).
func (p *IdP) fail(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, err error) {
	var brand web.Brand
	if snap != nil {
		brand = web.BrandOf(&snap.Org)
	}
	web.RenderBrandedError(w, r, p.env.Log, brand, err)
}

const publicUnavailable = "Sign-in is temporarily unavailable. Try again shortly."

// randomID returns 32 random bytes, base64url without padding.
func randomID() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// reasoned is an error with an auth event reason.
type reasoned struct {
	reason string
	err    error
}

func (e *reasoned) Error() string { return e.reason + ": " + e.err.Error() }
func (e *reasoned) Unwrap() error { return e.err }

func failf(reason string, err error) error { return &reasoned{reason: reason, err: err} }

// reasonOf returns the reason of err, or "saml-internal-error".
func reasonOf(err error) string {
	var re *reasoned
	if errors.As(err, &re) {
		return re.reason
	}
	return "saml-internal-error"
}
