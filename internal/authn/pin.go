package authn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/identity/onetimepin"
	"github.com/gatehouse/gatehouse/internal/mailaddr"
	"github.com/gatehouse/gatehouse/internal/policy"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/web"
	"github.com/gatehouse/gatehouse/internal/wire"
)

const maxFormBytes = 16 << 10

func (s *Service) renderPINEmail(w http.ResponseWriter, snap *snapshot.Snapshot, f *store.LoginFlow, msg string) {
	web.Render(w, http.StatusOK, "pin_email.html", &web.Page{Title: "Sign in", Brand: web.BrandOf(&snap.Org), AppName: flowAppName(snap, f), Message: msg, Hint: s.DemoHint,
		Data: map[string]string{"Action": snap.Profile.Path(wire.EndpointPIN), "FlowID": f.ID, "CSRF": csrfToken(f)}})
}

func (s *Service) renderPINCode(w http.ResponseWriter, snap *snapshot.Snapshot, f *store.LoginFlow, email, msg string) {
	web.Render(w, http.StatusOK, "pin_code.html", &web.Page{Title: "Enter your code", Brand: web.BrandOf(&snap.Org), AppName: flowAppName(snap, f), Message: msg,
		Data: map[string]string{"Action": snap.Profile.Path(wire.EndpointPIN) + "/verify", "FlowID": f.ID, "CSRF": csrfToken(f), "Email": email}})
}

// flowAppName is the name of the application a login flow opens ("" for a flow without one, such
// as an identity provider test).
func flowAppName(snap *snapshot.Snapshot, f *store.LoginFlow) string {
	if a := snap.Apps[f.AppID]; a != nil {
		return a.Name
	}
	return ""
}

// pinForm reads and checks a PIN form post: method, size, flow binding and CSRF token.
func (s *Service) pinForm(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot) (*store.LoginFlow, *store.IdentityProvider, error) {
	if r.Method != http.MethodPost {
		return nil, nil, httpx.Errorf(http.StatusMethodNotAllowed, "method-not-allowed", "This page only accepts form submissions.", nil)
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return nil, nil, httpx.Errorf(http.StatusBadRequest, "bad-form", "The form could not be read.", err)
	}
	f, err := s.loadFlow(r, snap, r.PostForm.Get("flow"))
	if err != nil {
		return nil, nil, err
	}
	if err := requireBound(snap, f); err != nil {
		return nil, nil, err
	}
	if r.PostForm.Get("csrf") != csrfToken(f) {
		return nil, nil, httpx.Errorf(http.StatusForbidden, "csrf-mismatch", "This form has expired. Open the application again to sign in.", nil)
	}
	if f.Data[flowTest] == "1" {
		// An IdP test (serveTestIdP) names its provider; there is no application.
		if idp := snap.IdPByID[f.IdPID]; idp != nil && idp.Type == store.IdPOneTimePIN {
			return f, idp, nil
		}
		return nil, nil, httpx.Errorf(http.StatusBadRequest, "idp-not-allowed", "E-mail sign-in is not available for this test.", nil)
	}
	app := snap.Apps[f.AppID]
	if app == nil {
		return nil, nil, httpx.Errorf(http.StatusBadRequest, "app-gone", "This application is no longer available.", nil)
	}
	for _, idp := range app.LoginIdPs {
		if idp.Type == store.IdPOneTimePIN {
			return f, idp, nil
		}
	}
	return nil, nil, httpx.Errorf(http.StatusBadRequest, "idp-not-allowed", "E-mail sign-in is not available for this application.", nil)
}

// servePINSend issues a PIN. The page shown afterwards is the same whether or not the address may
// sign in, and the PIN is only sent when some identity policy of the app could admit it.
func (s *Service) servePINSend(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot) error {
	f, idp, err := s.pinForm(w, r, snap)
	if err != nil {
		return err
	}
	// The address typed is taken as a bare addr-spec in its normal form (package mailaddr); only
	// blanks around it, which browsers and pasting leave, are forgiven.
	email, err := mailaddr.Normalize(strings.Trim(r.PostForm.Get("email"), " \t"))
	if err != nil {
		msg := "Enter a valid e-mail address."
		var ae *mailaddr.Error
		if errors.As(err, &ae) && ae.Problem != "empty" {
			msg = "This e-mail address cannot be used (" + ae.Problem + "). Enter a valid e-mail address."
		}
		s.renderPINEmail(w, snap, f, msg)
		return nil
	}
	c := httpx.ClientOf(r)
	ctx := r.Context()
	for _, lim := range []struct {
		key string
		l   Limit
	}{{"pin-send-ip:" + c.IP.String(), PINSendsPerIP}, {"pin-send-email:" + email, PINSendsPerEmail}} {
		ok, err := s.Store.HitRateLimit(ctx, lim.key, lim.l.Window, lim.l.Max)
		if err != nil {
			return errUnavailable(err)
		}
		if !ok {
			s.Audit.Auth(ctx, &store.AuthEvent{Action: "pin_sent", Allowed: false, Email: email, AppID: f.AppID, IdPID: idp.ID, IdPType: idp.Type, IP: c.IP.String(), Country: c.Country, Reasons: []string{"rate-limited"}})
			return httpx.Errorf(http.StatusTooManyRequests, "rate-limited", "Too many codes were requested. Wait a few minutes and try again.", nil)
		}
	}
	sender := snap.PINSender(idp.ID)
	if sender == nil {
		// Senders are published with the snapshot; a onetimepin IdP without one is a bug.
		return httpx.Errorf(http.StatusServiceUnavailable, "idp-unavailable", "This sign-in method is not available right now.", fmt.Errorf("no PIN sender for identity provider %q", idp.ID))
	}
	now := s.now()
	newPIN := s.NewPIN
	if newPIN == nil {
		newPIN = onetimepin.GeneratePIN
	}
	pin, err := newPIN()
	if err != nil {
		return err
	}
	ch := &store.PINChallenge{ID: randomToken(18), Email: email, CreatedAt: now, ExpiresAt: now.Add(onetimepin.Validity)}
	ch.PINHash = onetimepin.HashPIN(ch.ID, pin)
	if err := s.Store.CreatePINChallenge(ctx, ch); err != nil {
		return errUnavailable(err)
	}
	probe := &identity.Identity{Email: email, IdP: identity.IdP{ID: idp.ID, Type: idp.Type}, AMR: []string{"otp"}}
	d := pinDecision(snap, f, idp, &policy.Input{Identity: probe, ClientIP: c.IP, Country: c.Country})
	allowed := d.Action == policy.ActionAllow
	reasons := append([]string{}, d.Reasons...)
	// The flow is updated by replacing it: flows are small and short-lived. A challenge is stored
	// either way (the page and the work do not reveal whether the address may sign in), but only
	// a sent PIN can ever be entered: a PIN that was never sent cannot be guessed into a session.
	f.Data[flowChallenge] = ch.ID
	f.Data[flowEmail] = email
	delete(f.Data, flowPINSent)
	if allowed {
		f.Data[flowPINSent] = "1"
	}
	if err := s.replaceFlow(ctx, f); err != nil {
		return err
	}
	if allowed {
		// Sent in the background so the response time does not reveal whether the address is allowed.
		go func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if err := sender.SendPIN(sctx, email, pin, ch.ExpiresAt); err != nil {
				s.Log.LogAttrs(sctx, slog.LevelError, "sending one-time PIN failed", slog.String("email", email), slog.Any("err", err))
			}
		}()
	} else {
		reasons = append(reasons, "address-not-allowed")
		if s.DemoHint != "" {
			// The demo's user reads the terminal, not an inbox: say why nothing came. The
			// browser still sees the same page either way.
			s.Log.LogAttrs(ctx, slog.LevelWarn, "demo: no PIN sent: no policy of the application admits this address (gatehouse demo --allow EMAIL|DOMAIN admits more)",
				slog.String("email", email), slog.String("app", f.AppID), slog.Any("reasons", d.Reasons))
		}
	}
	s.Audit.Auth(ctx, &store.AuthEvent{Action: "pin_sent", Allowed: allowed, Email: email, AppID: f.AppID, IdPID: idp.ID, IdPType: idp.Type, IP: c.IP.String(), Country: c.Country, PolicyID: d.PolicyID, Reasons: reasons})
	s.renderPINCode(w, snap, f, email, "")
	return nil
}

// pinDecision decides whether a PIN is sent to the address in in: by the flow's application's
// policies, or for an IdP test by those of the applications that offer the provider (the first
// that admits the address, in id order), so that the test page sends a PIN to no address a login
// could not reach.
func pinDecision(snap *snapshot.Snapshot, f *store.LoginFlow, idp *store.IdentityProvider, in *policy.Input) policy.Decision {
	if f.Data[flowTest] != "1" {
		return snap.Apps[f.AppID].Policies.Evaluate(in)
	}
	ids := make([]string, 0, len(snap.Apps))
	for id := range snap.Apps {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var refused *policy.Decision
	for _, id := range ids {
		app := snap.Apps[id]
		if !slices.ContainsFunc(app.LoginIdPs, func(p *store.IdentityProvider) bool { return p.ID == idp.ID }) {
			continue
		}
		d := app.Policies.Evaluate(in)
		if d.Action == policy.ActionAllow {
			return d
		}
		if refused == nil {
			refused = &d
		}
	}
	if refused != nil {
		return *refused
	}
	return policy.Decision{Action: policy.ActionDeny, Reasons: []string{"idp-offered-by-no-application"}}
}

func (s *Service) replaceFlow(ctx context.Context, f *store.LoginFlow) error {
	if err := s.Store.DeleteLoginFlow(ctx, f.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return errUnavailable(err)
	}
	if err := s.Store.CreateLoginFlow(ctx, f); err != nil {
		return errUnavailable(err)
	}
	return nil
}

// servePINVerify checks a submitted PIN and, on success, logs the user in.
func (s *Service) servePINVerify(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot) error {
	f, idp, err := s.pinForm(w, r, snap)
	if err != nil {
		return err
	}
	ctx := r.Context()
	c := httpx.ClientOf(r)
	email, chID := f.Data[flowEmail], f.Data[flowChallenge]
	// fail records a refused attempt; with a message the code form is shown again, without one
	// the attempt is over.
	fail := func(reason, msg string) error {
		s.Audit.Auth(ctx, &store.AuthEvent{Action: "login", Allowed: false, Email: email, AppID: f.AppID, IdPID: idp.ID, IdPType: idp.Type, IP: c.IP.String(), Country: c.Country, Reasons: []string{reason}})
		if msg == "" {
			return httpx.Errorf(http.StatusForbidden, reason, "That code is not valid any more. Open the application again to request a new one.", nil)
		}
		s.renderPINCode(w, snap, f, email, msg)
		return nil
	}
	if chID == "" {
		return fail("pin-not-requested", "")
	}
	ok, err := s.Store.HitRateLimit(ctx, "pin-verify-ip:"+c.IP.String(), PINVerifyPerIP.Window, PINVerifyPerIP.Max)
	if err != nil {
		return errUnavailable(err)
	}
	if !ok {
		return fail("rate-limited", "")
	}
	code := strings.TrimSpace(r.PostForm.Get("code"))
	sent := f.Data[flowPINSent] == "1"
	_, consumed, err := s.Store.AttemptPINChallenge(ctx, chID, PINMaxAttempts, func(c *store.PINChallenge) bool {
		// The hash is checked either way so that a PIN that was never sent costs the same.
		return onetimepin.CheckPIN(c.ID, code, c.PINHash) && c.Email == email && sent
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fail("pin-expired", "")
	case errors.Is(err, store.ErrConflict):
		return fail("pin-used-or-too-many-attempts", "")
	case err != nil:
		return errUnavailable(err)
	case !consumed && !sent:
		return fail("address-not-allowed", "That code is not right. Check the e-mail and try again.")
	case !consumed:
		return fail("pin-mismatch", "That code is not right. Check the e-mail and try again.")
	}
	s.endFlow(ctx, w, snap, f)
	ident := &identity.Identity{Email: email, IdP: identity.IdP{ID: idp.ID, Type: idp.Type}, AMR: []string{"otp"}}
	if f.Data[flowTest] == "1" {
		s.showIdPTest(ctx, w, r, snap, idp, ident)
		return nil
	}
	os, err := s.startSession(ctx, w, r, snap, ident)
	if err != nil {
		he := httpx.AsError(err)
		s.Audit.Auth(ctx, &store.AuthEvent{Action: "login", Allowed: false, Email: email, AppID: f.AppID, IdPID: idp.ID, IdPType: idp.Type, IP: c.IP.String(), Country: c.Country, Reasons: []string{he.Reason}})
		return err
	}
	return s.completeAppLogin(w, r, snap, targetOf(snap, f), os, true)
}
