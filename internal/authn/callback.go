package authn

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/mailaddr"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/web"
	"github.com/gatehouse/gatehouse/internal/wire"
)

// Flow data keys used by redirect logins.
const (
	flowConnectorPrefix = "c:"       // connector-private data
	flowVerified        = "verified" // identity JSON verified on a cross-site POST callback
	flowTest            = "idp_test" // "1" for an administrator's IdP test login
	maxCallbackBody     = 1 << 20    // SAML responses are a few KiB; 1 MiB is generous
	endpointTestIdP     = "test-idp" // <prefix>test-idp/<idp id>
	endpointContinue    = "continue" // <prefix>callback/continue?flow=
	endpointSAMLMeta    = "saml-metadata"
)

// loginRequest is what connectors get to know about the auth domain.
func loginRequest(snap *snapshot.Snapshot, state string) identity.LoginRequest {
	cb := snap.Issuer + snap.Profile.Path(wire.EndpointCallback)
	return identity.LoginRequest{State: state, CallbackURL: cb, SPEntityID: cb}
}

// flowLoginRequest is loginRequest for flow f, asking for a fresh authentication when f does.
func flowLoginRequest(snap *snapshot.Snapshot, f *store.LoginFlow) identity.LoginRequest {
	req := loginRequest(snap, f.ID)
	req.ForceAuthn = f.Data[flowForceAuthn] == "1"
	return req
}

// startRedirectLogin sends the browser to a redirect-based IdP for flow f.
func (s *Service) startRedirectLogin(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, f *store.LoginFlow, idp *store.IdentityProvider) error {
	rc, ok := snap.Connector(idp.ID).(identity.RedirectConnector)
	if !ok {
		return httpx.Errorf(http.StatusServiceUnavailable, "idp-unavailable", "This sign-in method is not available right now.", nil)
	}
	start, err := rc.StartLogin(r.Context(), flowLoginRequest(snap, f))
	if err != nil {
		s.Audit.Auth(r.Context(), &store.AuthEvent{Action: "login", Allowed: false, AppID: f.AppID, IdPID: idp.ID, IdPType: idp.Type, Reasons: []string{identity.FailureReason(err)}})
		return httpx.Errorf(http.StatusBadGateway, identity.FailureReason(err), "The identity provider could not be reached. Try again shortly.", err)
	}
	f.IdPID = idp.ID
	for k, v := range start.FlowData {
		f.Data[flowConnectorPrefix+k] = v
	}
	if err := s.replaceFlow(r.Context(), f); err != nil {
		return err
	}
	if start.PostURL != "" {
		web.RenderAutoPost(w, snap.Org.Name, start.PostURL, start.PostForm)
		return nil
	}
	web.SetSecurityHeaders(w.Header())
	http.Redirect(w, r, start.RedirectURL, http.StatusFound)
	return nil
}

func connectorData(f *store.LoginFlow) map[string]string {
	out := map[string]string{}
	for k, v := range f.Data {
		if rest, ok := strings.CutPrefix(k, flowConnectorPrefix); ok {
			out[rest] = v
		}
	}
	return out
}

// serveCallback is the redirect URI and SAML ACS of every IdP. A GET (OAuth) arrives as a
// top-level navigation and carries the flow cookie; a cross-site POST (SAML) does not carry
// SameSite=Lax cookies, so its answer is verified and kept with the flow, and the browser is sent
// on to a same-site continue step where the flow cookie is checked before any session exists.
func (s *Service) serveCallback(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot) error {
	ctx := r.Context()
	var state string
	switch r.Method {
	case http.MethodGet:
		state = r.URL.Query().Get("state")
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, maxCallbackBody)
		if err := r.ParseForm(); err != nil {
			return httpx.Errorf(http.StatusBadRequest, "callback-unreadable", "The identity provider's answer could not be read.", err)
		}
		state = r.PostForm.Get("RelayState")
	default:
		return httpx.Errorf(http.StatusMethodNotAllowed, "method-not-allowed", "This page only accepts GET and POST.", nil)
	}
	invalid := httpx.Errorf(http.StatusBadRequest, "callback-unknown-flow", "This sign-in attempt has expired. Open the application again to sign in.", nil)
	unsolicited := r.Method == http.MethodPost && r.PostForm.Get("SAMLResponse") != ""
	if state == "" {
		if unsolicited {
			return s.serveUnsolicited(w, r, snap, state)
		}
		return invalid
	}
	f, err := s.Store.GetLoginFlow(ctx, state)
	if errors.Is(err, store.ErrNotFound) {
		if unsolicited {
			return s.serveUnsolicited(w, r, snap, state)
		}
		return invalid
	}
	if err != nil {
		return errUnavailable(err)
	}
	idp := snap.IdPByID[f.IdPID]
	cc, ok := snap.Connector(f.IdPID).(identity.CallbackConnector)
	if idp == nil || !ok {
		return invalid
	}
	if got, err := cc.CallbackState(r); err != nil || got != state {
		return invalid
	}
	c := httpx.ClientOf(r)
	// The browser binding is checked before the answer is used: a callback URL opened in a
	// browser that did not start the login must not redeem the owner's code (or call UserInfo)
	// before being refused, and must leave the owner's flow alone. A top-level GET carries the
	// flow cookie; a cross-site POST (SAML) does not, and is bound at the continue step instead,
	// unless it carries another browser's cookie.
	switch bindingOf(r, snap, f) {
	case bindingForeign:
		s.Audit.Auth(ctx, &store.AuthEvent{Action: "login", Allowed: false, AppID: f.AppID, IdPID: idp.ID, IdPType: idp.Type,
			IP: c.IP.String(), Country: c.Country, Reasons: []string{"flow-browser-mismatch"}})
		return httpx.Errorf(http.StatusBadRequest, "flow-browser-mismatch", "This sign-in attempt has expired. Open the application again to sign in.", nil)
	case bindingAbsent:
		if r.Method == http.MethodGet {
			s.Audit.Auth(ctx, &store.AuthEvent{Action: "login", Allowed: false, AppID: f.AppID, IdPID: idp.ID, IdPType: idp.Type,
				IP: c.IP.String(), Country: c.Country, Reasons: []string{"flow-browser-mismatch"}})
			return httpx.Errorf(http.StatusBadRequest, "flow-browser-mismatch", "This sign-in attempt has expired. Open the application again to sign in.", nil)
		}
		// Each unbound POST costs signature work with nothing to pay for it: it counts against
		// the client's login budget.
		if err := s.allowLoginStart(r); err != nil {
			return err
		}
	}
	ident, err := cc.HandleCallback(ctx, r, flowLoginRequest(snap, f), connectorData(f))
	if err != nil {
		// The owner's flow is spent: a failed answer cannot be retried against it. A POST without
		// the flow cookie may come from anyone, so it leaves the flow to expire instead.
		if bindingOf(r, snap, f) == bindingOwn {
			_ = s.Store.DeleteLoginFlow(ctx, f.ID)
		}
		return s.idpFailure(ctx, &store.AuthEvent{Action: "login", Allowed: false, AppID: f.AppID, IdPID: idp.ID, IdPType: idp.Type,
			IP: c.IP.String(), Country: c.Country, Reasons: []string{identity.FailureReason(err)}}, err)
	}
	ident.IdP = identity.IdP{ID: idp.ID, Type: idp.Type}
	if r.Method == http.MethodPost {
		raw, _ := json.Marshal(ident)
		f.Data[flowVerified] = string(raw)
		if err := s.replaceFlow(ctx, f); err != nil {
			return err
		}
		web.SetSecurityHeaders(w.Header())
		http.Redirect(w, r, snap.Profile.Path(wire.EndpointCallback)+"/"+endpointContinue+"?"+url.Values{"flow": {f.ID}}.Encode(), http.StatusSeeOther)
		return nil
	}
	return s.finishRedirectLogin(w, r, snap, f, idp, ident)
}

// serveUnsolicited handles a SAML response that answers no login flow (IdP-initiated: a tile
// in the IdP's portal). Only IdPs with allow_idp_initiated are tried, in configuration order;
// the first whose checks pass (issuer, signature, audience, destination, no InResponseTo,
// replay cache) signs the user in. There is no flow to bind the browser to, so this is open to
// login CSRF by design (a third party can sign a browser in as itself); the option documents it.
// The browser then goes to relayState when it is a URL of a protected application, else to the
// auth domain's home (the App Launcher).
func (s *Service) serveUnsolicited(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, relayState string) error {
	ctx := r.Context()
	c := httpx.ClientOf(r)
	ip, country := c.IP, c.Country
	// Each attempt costs XML parsing and signature checks with no flow to pay for them: it
	// counts against the client's login budget like starting a login does.
	if err := s.allowLoginStart(r); err != nil {
		return err
	}
	var tried []*store.IdentityProvider
	var errs []error
	for _, idp := range snap.IdPs {
		uc, ok := snap.Connector(idp.ID).(identity.UnsolicitedConnector)
		if !ok || !uc.AcceptsUnsolicited() {
			continue
		}
		tried = append(tried, idp)
		ident, err := uc.HandleCallback(ctx, r, loginRequest(snap, ""), nil)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ident.IdP = identity.IdP{ID: idp.ID, Type: idp.Type}
		if ident.Email == "" {
			s.Audit.Auth(ctx, &store.AuthEvent{Action: "login", Allowed: false, IdPID: idp.ID, IdPType: idp.Type, IP: ip.String(), Country: country, Reasons: []string{"idp-no-email"}})
			return httpx.Errorf(http.StatusForbidden, "idp-no-email", "The identity provider did not send an e-mail address.", nil)
		}
		if err := normalizeEmail(ident); err != nil {
			return s.idpFailure(ctx, &store.AuthEvent{Action: "login", Allowed: false, IdPID: idp.ID, IdPType: idp.Type, IP: ip.String(), Country: country,
				Reasons: []string{reasonEmailInvalid, "idp-initiated"}}, err)
		}
		if _, err := s.startSession(ctx, w, r, snap, ident); err != nil {
			s.Audit.Auth(ctx, &store.AuthEvent{Action: "login", Allowed: false, Email: ident.Email, IdPID: idp.ID, IdPType: idp.Type,
				IP: ip.String(), Country: country, Reasons: []string{httpx.AsError(err).Reason}})
			return err
		}
		s.Audit.Auth(ctx, &store.AuthEvent{Action: "login", Allowed: true, Email: ident.Email, IdPID: idp.ID, IdPType: idp.Type,
			IP: ip.String(), Country: country, Reasons: []string{"idp-initiated"}})
		web.SetSecurityHeaders(w.Header())
		http.Redirect(w, r, unsolicitedTarget(snap, relayState), http.StatusSeeOther)
		return nil
	}
	if len(tried) == 0 {
		return httpx.Errorf(http.StatusBadRequest, "callback-unknown-flow",
			"This sign-in attempt has expired. Open the application again to sign in.", errors.New("unsolicited SAML response and no IdP allows IdP-initiated logins"))
	}
	return s.idpFailure(ctx, &store.AuthEvent{Action: "login", Allowed: false, IdPID: tried[0].ID, IdPType: tried[0].Type,
		IP: ip.String(), Country: country, Reasons: []string{identity.FailureReason(errs[0]), "idp-initiated"}}, errors.Join(errs...))
}

// reasonEmailInvalid is the refusal of a login whose address has no normal form.
const reasonEmailInvalid = "email-invalid"

// normalizeEmail puts the address of a login in its normal form (package mailaddr). Connectors
// already do; every login passes here, so an address without a normal form (a look-alike, an
// invisible character) never becomes a session or another user's, whatever produced it.
func normalizeEmail(ident *identity.Identity) error {
	n, err := mailaddr.Normalize(ident.Email)
	if err != nil {
		return err
	}
	ident.Email = n
	return nil
}

// idpFailure records an identity provider answer that was refused (ev, given a reference ID
// here) and returns the sign-in-failed error under the same reference: the error adapter logs
// the precise cause with it, and users see only the reference, never the internal error.
func (s *Service) idpFailure(ctx context.Context, ev *store.AuthEvent, cause error) error {
	ev.RequestID = httpx.NewRequestID()
	s.Audit.Auth(ctx, ev)
	s.Log.Warn("identity provider login failed", "ref", ev.RequestID, "idp", ev.IdPID, "reasons", ev.Reasons)
	return &httpx.Error{Status: http.StatusForbidden, Reason: ev.Reasons[0], Title: "Sign-in failed", Ref: ev.RequestID, Cause: cause,
		Public: "The identity provider's answer could not be accepted. Try again, and give your administrator the reference below if it keeps happening."}
}

// unsolicitedTarget returns relayState when it is an http(s) URL on a protected application's
// host and path (after the same normalisation as routing), else the auth domain's home.
func unsolicitedTarget(snap *snapshot.Snapshot, relayState string) string {
	home := snap.Issuer + "/"
	if strings.ContainsAny(relayState, "\\\x00\t\r\n") || len(relayState) > 2048 { // security rule 13
		return home
	}
	u, err := url.Parse(relayState)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || (u.Scheme == "http" && snap.Secure()) {
		return home
	}
	norm, err := httpx.NormalizePath(u.EscapedPath())
	if err != nil {
		return home
	}
	if norm == "" {
		norm = "/"
	}
	id, ok, err := snap.Routes.Resolve(strings.ToLower(u.Hostname()), norm)
	if err != nil || !ok || snap.Apps[id] == nil {
		return home
	}
	target := u.Scheme + "://" + u.Host + norm
	if u.RawQuery != "" {
		target += "?" + u.RawQuery
	}
	return target
}

// serveContinue finishes a login whose IdP answer arrived by cross-site POST.
func (s *Service) serveContinue(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot) error {
	f, err := s.loadFlow(r, snap, r.URL.Query().Get("flow"))
	if err != nil {
		if he := httpx.AsError(err); he.Reason == "flow-browser-mismatch" {
			c := httpx.ClientOf(r)
			s.Audit.Auth(r.Context(), &store.AuthEvent{Action: "login", Allowed: false, IP: c.IP.String(), Country: c.Country,
				Reasons: []string{"flow-browser-mismatch"}})
		}
		return err
	}
	raw := f.Data[flowVerified]
	idp := snap.IdPByID[f.IdPID]
	var ident identity.Identity
	if raw == "" || idp == nil || json.Unmarshal([]byte(raw), &ident) != nil {
		return httpx.Errorf(http.StatusBadRequest, "callback-not-verified", "This sign-in attempt has expired. Open the application again to sign in.", nil)
	}
	return s.finishRedirectLogin(w, r, snap, f, idp, &ident)
}

// finishRedirectLogin checks the flow's browser binding, then starts the session and hands the
// login to the app (or shows the identity for an IdP test).
func (s *Service) finishRedirectLogin(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, f *store.LoginFlow, idp *store.IdentityProvider, ident *identity.Identity) error {
	ctx := r.Context()
	c := httpx.ClientOf(r)
	ip, country := c.IP, c.Country
	if _, err := s.loadFlow(r, snap, f.ID); err != nil {
		s.Audit.Auth(ctx, &store.AuthEvent{Action: "login", Allowed: false, Email: ident.Email, AppID: f.AppID, IdPID: idp.ID, IdPType: idp.Type,
			IP: ip.String(), Country: country, Reasons: []string{"flow-browser-mismatch"}})
		return err
	}
	s.endFlow(ctx, w, snap, f)
	if ident.Email == "" {
		s.Audit.Auth(ctx, &store.AuthEvent{Action: "login", Allowed: false, AppID: f.AppID, IdPID: idp.ID, IdPType: idp.Type, IP: ip.String(), Country: country, Reasons: []string{"idp-no-email"}})
		return httpx.Errorf(http.StatusForbidden, "idp-no-email", "The identity provider did not send an e-mail address.", nil)
	}
	if err := normalizeEmail(ident); err != nil {
		return s.idpFailure(ctx, &store.AuthEvent{Action: "login", Allowed: false, AppID: f.AppID, IdPID: idp.ID, IdPType: idp.Type, IP: ip.String(), Country: country,
			Reasons: []string{reasonEmailInvalid}}, err)
	}
	if f.Data[flowTest] == "1" {
		s.showIdPTest(ctx, w, r, snap, idp, ident)
		return nil
	}
	os, err := s.startSession(ctx, w, r, snap, ident)
	if err != nil {
		s.Audit.Auth(ctx, &store.AuthEvent{Action: "login", Allowed: false, Email: ident.Email, AppID: f.AppID, IdPID: idp.ID, IdPType: idp.Type,
			IP: ip.String(), Country: country, Reasons: []string{httpx.AsError(err).Reason}})
		return err
	}
	app := snap.Apps[f.AppID]
	if app == nil {
		return httpx.Errorf(http.StatusBadRequest, "app-gone", "This application is no longer available.", nil)
	}
	return s.completeAppLogin(w, r, snap, targetOf(snap, f), os, true)
}

// showIdPTest ends an IdP test login: the page shows the identity the login produced (what a
// session would carry); no session is created.
func (s *Service) showIdPTest(ctx context.Context, w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, idp *store.IdentityProvider, ident *identity.Identity) {
	c := httpx.ClientOf(r)
	s.Audit.Auth(ctx, &store.AuthEvent{Action: "idp_test", Allowed: true, Email: ident.Email, IdPID: idp.ID, IdPType: idp.Type, IP: c.IP.String(), Country: c.Country})
	pretty, _ := json.MarshalIndent(ident, "", "  ")
	web.Render(w, http.StatusOK, "identity.html", &web.Page{Title: "Identity provider test: " + idp.Name, OrgName: snap.Org.Name,
		Message: "The identity provider returned this identity. No session was created.", Data: string(pretty)})
}

// serveTestIdP starts an administrator's test login through one IdP: the result page shows the
// identity and attributes the IdP returned; no session is created. For the e-mail PIN it asks
// for an address and sends a PIN (when a login could: some application offering the provider
// admits the address), and entering the PIN shows the identity.
func (s *Service) serveTestIdP(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, idpID string) error {
	idp := snap.IdPByID[idpID]
	if idp == nil {
		return httpx.Errorf(http.StatusNotFound, "idp-unknown", "There is no such identity provider.", nil)
	}
	if idp.Type == store.IdPOneTimePIN {
		f, err := s.newFlow(w, r, snap, &loginTarget{})
		if err != nil {
			return err
		}
		f.Data[flowTest] = "1"
		f.IdPID = idp.ID
		if err := s.replaceFlow(r.Context(), f); err != nil {
			return err
		}
		web.Render(w, http.StatusOK, "pin_email.html", &web.Page{Title: "Identity provider test: " + idp.Name, Brand: web.BrandOf(&snap.Org),
			Hint: "Testing " + idp.Name + ": a code is sent to the address if an application offering this provider admits it. Entering the code shows the identity a login produces; no session is created.",
			Data: map[string]string{"Action": snap.Profile.Path(wire.EndpointPIN), "FlowID": f.ID, "CSRF": csrfToken(f)}})
		return nil
	}
	if _, ok := snap.Connector(idp.ID).(identity.RedirectConnector); !ok {
		return httpx.Errorf(http.StatusBadRequest, "idp-not-testable", "This identity provider cannot be tested from here.", nil)
	}
	f, err := s.newFlow(w, r, snap, &loginTarget{})
	if err != nil {
		return err
	}
	f.Data[flowTest] = "1"
	return s.startRedirectLogin(w, r, snap, f, idp)
}

// serveSAMLMetadata serves Gatehouse's SP metadata: the default document (for the first SAML
// IdP, or the one named in the path).
func (s *Service) serveSAMLMetadata(w http.ResponseWriter, snap *snapshot.Snapshot, idpID string) error {
	var mc identity.MetadataConnector
	for _, idp := range snap.IdPs {
		if idpID != "" && idp.ID != idpID {
			continue
		}
		if c, ok := snap.Connector(idp.ID).(identity.MetadataConnector); ok {
			mc = c
			break
		}
	}
	if mc == nil {
		return httpx.Errorf(http.StatusNotFound, "no-saml-idp", "No SAML identity provider is configured.", nil)
	}
	md, err := mc.SPMetadata(loginRequest(snap, ""))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	_, _ = w.Write(md)
	return nil
}
