package devices

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/gateway"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/web"
)

// MaxActiveDevicesPerUser bounds the devices a user may have enrolled and not revoked.
const MaxActiveDevicesPerUser = 50

// maxFormBytes bounds an enrolment form post.
const maxFormBytes = 16 << 10

// formPurpose names the enrolment forms' CSRF tokens.
const formPurpose = "gateway-enroll"

// nonceLen is the length of an enrolment form's one-time nonce (16 random bytes, base64url),
// remembered for nonceLifetime once used.
const (
	nonceLen      = 22
	nonceLifetime = 24 * time.Hour
)

// Audit actions.
const (
	ActionEnroll = "gateway_device.enroll"
	ActionRevoke = "gateway_device.revoke"
)

// Enroll serves gateway device enrolment on the auth domain: the enrolment page (EnrollPath),
// the CA certificates (CAPath) and personal PAC files (PACPrefix). Mount it for the subtree
// <prefix>gateway/.
type Enroll struct {
	Snapshots *snapshot.Holder
	Store     store.Store
	// Authorize logs the user in for the warp application and checks its policies, answering
	// the request itself (a login redirect, a block page) when it returns handled.
	Authorize func(w http.ResponseWriter, r *http.Request, app *snapshot.App, returnPath string) (*session.Grant, bool)
	// FormToken and CheckFormToken make and check the forms' CSRF tokens, bound to the org
	// session cookie (authn.Service).
	FormToken      func(r *http.Request, purpose string) string
	CheckFormToken func(r *http.Request, purpose, posted string) bool
	// TrustBundle returns, in PEM, the CA certificates clients must trust (empty when TLS
	// inspection has no CA yet).
	TrustBundle func(ctx context.Context) ([]byte, error)
	// ProxyAddress returns the host:port users configure as their proxy; "" when the gateway
	// is off, and then nothing can be enrolled.
	ProxyAddress func() string
	// AfterRevoke makes a revocation effective on this replica at once (other replicas learn
	// of it from the store's change feed).
	AfterRevoke func(ctx context.Context)
	Audit       *audit.Recorder
	Log         *slog.Logger
	Now         func() time.Time
}

// warpApp returns the organisation's warp application (device enrolment permissions), or nil.
func warpApp(snap *snapshot.Snapshot) *snapshot.App {
	for _, a := range snap.Ordered() {
		if a.Type == store.AppWarp {
			return a
		}
	}
	return nil
}

func (e *Enroll) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Enroll) log() *slog.Logger {
	if e.Log != nil {
		return e.Log
	}
	return slog.Default()
}

// ServeHTTP routes the subtree.
func (e *Enroll) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	snap := e.Snapshots.Load()
	p := r.URL.Path
	switch {
	case p == snap.Profile.Path(EnrollPath):
		e.serveEnroll(w, r, snap)
	case p == snap.Profile.Path(CAPath):
		e.serveCA(w, r, snap)
	case strings.HasPrefix(p, snap.Profile.Path(PACPrefix)):
		e.servePAC(w, r, snap, strings.TrimPrefix(p, snap.Profile.Path(PACPrefix)))
	default:
		e.fail(w, r, snap, httpx.Errorf(http.StatusNotFound, "not-found", "This page does not exist.", nil))
	}
}

func (e *Enroll) fail(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, err error) {
	web.RenderBrandedError(w, r, e.log(), web.BrandOf(&snap.Org), err)
}

// deviceRow is a device as the page lists it.
type deviceRow struct {
	ID, Name, Created, LastSeen, Revoked string
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func (e *Enroll) serveEnroll(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, HEAD, POST")
		e.fail(w, r, snap, httpx.Errorf(http.StatusMethodNotAllowed, "method-not-allowed", "This page only supports GET and POST.", nil))
		return
	}
	if e.ProxyAddress() == "" {
		e.fail(w, r, snap, httpx.Errorf(http.StatusNotFound, "gateway-off", "The secure web gateway is not enabled for this organization.", nil))
		return
	}
	app := warpApp(snap)
	if app == nil {
		// No warp application: nobody may enrol (fail closed).
		e.fail(w, r, snap, httpx.Errorf(http.StatusForbidden, "enrollment-disabled",
			"Device enrollment is not enabled for this organization. Ask your administrator.", nil))
		return
	}
	devs, err := Devices(e.Store)
	if err != nil {
		e.fail(w, r, snap, httpx.Errorf(http.StatusServiceUnavailable, "store-unsupported", "Device enrollment is unavailable.", err))
		return
	}
	g, handled := e.Authorize(w, r, app, snap.Profile.Path(EnrollPath))
	if handled {
		return
	}
	if r.Method == http.MethodPost {
		e.post(w, r, snap, devs, g)
		return
	}
	e.render(w, r, snap, devs, g, http.StatusOK, "")
}

// render shows the enrolment form and the user's devices; msg is a problem with the input.
func (e *Enroll) render(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, devs store.GatewayDevices, g *session.Grant, status int, msg string) {
	list, err := devs.ListGatewayDevices(r.Context(), g.Identity.UserID)
	if err != nil {
		e.fail(w, r, snap, httpx.Errorf(http.StatusServiceUnavailable, "store-unavailable", "Your devices could not be loaded. Try again.", err))
		return
	}
	rows := make([]deviceRow, 0, len(list))
	for _, d := range list {
		rows = append(rows, deviceRow{ID: d.ID, Name: d.Name, Created: fmtTime(d.CreatedAt), LastSeen: fmtTime(d.LastSeenAt), Revoked: fmtTime(d.RevokedAt)})
	}
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	web.Render(w, status, "enroll.html", &web.Page{Title: "Enroll a device", Brand: web.BrandOf(&snap.Org), Wide: true, Message: msg,
		Data: map[string]any{"Email": g.Identity.Email, "Action": snap.Profile.Path(EnrollPath), "CSRF": e.FormToken(r, formPurpose),
			"Nonce": base64.RawURLEncoding.EncodeToString(nonce), "MaxName": store.MaxGatewayDeviceNameLen, "Devices": rows}})
}

func (e *Enroll) post(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, devs store.GatewayDevices, g *session.Grant) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		e.fail(w, r, snap, httpx.Errorf(http.StatusBadRequest, "bad-form", "The form could not be read.", err))
		return
	}
	if !e.CheckFormToken(r, formPurpose, r.PostForm.Get("csrf")) {
		e.fail(w, r, snap, httpx.Errorf(http.StatusForbidden, "csrf-mismatch", "This form has expired. Reload the page and try again.", nil))
		return
	}
	switch r.PostForm.Get("op") {
	case "enroll":
		e.enroll(w, r, snap, devs, g)
	case "revoke":
		e.revoke(w, r, snap, devs, g)
	default:
		e.fail(w, r, snap, httpx.Errorf(http.StatusBadRequest, "bad-form", "The form could not be read.", nil))
	}
}

func (e *Enroll) enroll(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, devs store.GatewayDevices, g *session.Grant) {
	ctx := r.Context()
	name, err := CleanName(r.PostForm.Get("name"))
	if err != nil {
		e.render(w, r, snap, devs, g, http.StatusBadRequest, "Device name: "+err.Error()+".")
		return
	}
	// Each rendering of the form enrols at most one device: a form posted again (the browser's
	// reload of the credentials page) enrols nothing.
	nonce := r.PostForm.Get("nonce")
	if len(nonce) != nonceLen {
		e.fail(w, r, snap, httpx.Errorf(http.StatusBadRequest, "bad-form", "The form could not be read. Reload the page and try again.", nil))
		return
	}
	fresh, err := e.Store.RememberOnce(ctx, "gateway-enroll:"+g.Identity.UserID+":"+nonce, e.now().Add(nonceLifetime))
	if err != nil {
		e.fail(w, r, snap, httpx.Errorf(http.StatusServiceUnavailable, "store-unavailable", "The device could not be enrolled. Try again.", err))
		return
	}
	if !fresh {
		e.render(w, r, snap, devs, g, http.StatusConflict, "This form was already sent, and its device enrolled: its credentials are shown only once. "+
			"If you did not copy them, revoke that device and enroll it again.")
		return
	}
	list, err := devs.ListGatewayDevices(ctx, g.Identity.UserID)
	if err != nil {
		e.fail(w, r, snap, httpx.Errorf(http.StatusServiceUnavailable, "store-unavailable", "The device could not be enrolled. Try again.", err))
		return
	}
	active := 0
	for _, d := range list {
		if !d.Revoked() {
			active++
		}
	}
	if active >= MaxActiveDevicesPerUser {
		e.render(w, r, snap, devs, g, http.StatusConflict, "You have enrolled the most devices allowed; revoke one you no longer use first.")
		return
	}
	cred, err := NewCredentials()
	if err != nil {
		e.fail(w, r, snap, httpx.Errorf(http.StatusInternalServerError, "internal", "The device could not be enrolled. Try again.", err))
		return
	}
	d := &store.GatewayDevice{ID: cred.Username, UserID: g.Identity.UserID, Name: name, SecretSHA256: cred.SecretSHA256}
	if err := devs.CreateGatewayDevice(ctx, d); err != nil {
		e.fail(w, r, snap, httpx.Errorf(http.StatusServiceUnavailable, "store-unavailable", "The device could not be enrolled. Try again.", err))
		return
	}
	e.record(r, g, ActionEnroll, d, nil)
	bundle, err := e.TrustBundle(ctx)
	if err != nil {
		// The credentials exist and are shown once: the page still works without the CA link.
		e.log().WarnContext(ctx, "gateway enrolment: load the CA certificates", "err", err)
	}
	caURL := ""
	if len(bundle) > 0 {
		caURL = snap.Issuer + snap.Profile.Path(CAPath)
	}
	proxy := e.ProxyAddress()
	proxyURL := (&url.URL{Scheme: "http", User: url.UserPassword(cred.Username, cred.Password), Host: proxy}).String()
	web.Render(w, http.StatusOK, "enrolled.html", &web.Page{Title: "Device enrolled", Brand: web.BrandOf(&snap.Org), Wide: true,
		Data: map[string]any{"Name": name, "Proxy": proxy, "Username": cred.Username, "Password": cred.Password,
			"ProxyURL": proxyURL, "PACURL": snap.Issuer + snap.Profile.Path(PACPrefix+cred.Username+".pac"), "CAURL": caURL,
			"AuthHost": snap.AuthHost, "Back": snap.Profile.Path(EnrollPath)}})
}

func (e *Enroll) revoke(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, devs store.GatewayDevices, g *session.Grant) {
	ctx := r.Context()
	id := r.PostForm.Get("device")
	d, err := devs.GetGatewayDevice(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && d.UserID != g.Identity.UserID {
		// Another user's device is as unknown as a device that does not exist.
		e.fail(w, r, snap, httpx.Errorf(http.StatusNotFound, "device-unknown", "This device does not exist.", nil))
		return
	}
	if err == nil {
		d, err = devs.RevokeGatewayDevice(ctx, id)
	}
	if err != nil {
		e.fail(w, r, snap, httpx.Errorf(http.StatusServiceUnavailable, "store-unavailable", "The device could not be revoked. Try again.", err))
		return
	}
	if e.AfterRevoke != nil {
		e.AfterRevoke(ctx)
	}
	e.record(r, g, ActionRevoke, d, nil)
	http.Redirect(w, r, snap.Profile.Path(EnrollPath), http.StatusSeeOther)
}

// record writes the audit event of a user's enrolment or revocation.
func (e *Enroll) record(r *http.Request, g *session.Grant, action string, d *store.GatewayDevice, opErr error) {
	if e.Audit == nil {
		return
	}
	details, _ := json.Marshal(map[string]any{"name": d.Name, "user_id": d.UserID})
	ev := &store.AuditEvent{ActorType: store.ActorUser, Actor: g.Identity.Email, IP: httpx.ClientOf(r).IP.String(), Action: action,
		TargetType: "gateway_device", TargetID: d.ID, Result: store.AuditSuccess, Details: details}
	if opErr != nil {
		ev.Result = store.AuditFailure
	}
	if err := e.Audit.Record(r.Context(), ev); err != nil {
		e.log().WarnContext(r.Context(), "gateway enrolment: audit event not recorded", "action", action, "device", d.ID, "err", err)
	}
}

// serveCA serves the certificates clients must trust, in PEM. They are public: no login.
func (e *Enroll) serveCA(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		e.fail(w, r, snap, httpx.Errorf(http.StatusMethodNotAllowed, "method-not-allowed", "The certificate is read with GET.", nil))
		return
	}
	bundle, err := e.TrustBundle(r.Context())
	if err != nil {
		e.fail(w, r, snap, httpx.Errorf(http.StatusServiceUnavailable, "store-unavailable", "The certificate could not be loaded. Try again.", err))
		return
	}
	if len(bundle) == 0 {
		e.fail(w, r, snap, httpx.Errorf(http.StatusNotFound, "no-gateway-ca", "TLS inspection has no certificate authority yet: there is nothing to install.", nil))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/x-pem-file")
	h.Set("Content-Disposition", `attachment; filename="gatehouse-gateway-ca.pem"`)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "max-age=300")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(bundle)
	}
}

// servePAC serves a device's personal PAC file: the gateway's PAC with the device named in a
// comment. It holds nothing secret (a PAC file cannot carry proxy credentials: the browser asks
// for them on the first 407), so it is served without a login, for an enrolled device that is
// not revoked.
func (e *Enroll) servePAC(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, name string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		e.fail(w, r, snap, httpx.Errorf(http.StatusMethodNotAllowed, "method-not-allowed", "The PAC file is read with GET.", nil))
		return
	}
	id, ok := strings.CutSuffix(name, ".pac")
	notFound := httpx.Errorf(http.StatusNotFound, "not-found", "There is no such PAC file.", nil)
	proxy := e.ProxyAddress()
	if _, err := uuid.Parse(id); !ok || err != nil || len(id) != 36 || proxy == "" {
		e.fail(w, r, snap, notFound)
		return
	}
	devs, err := Devices(e.Store)
	if err != nil {
		e.fail(w, r, snap, notFound)
		return
	}
	d, err := devs.GetGatewayDevice(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound) || err == nil && d.Revoked():
		e.fail(w, r, snap, notFound)
		return
	case err != nil:
		e.fail(w, r, snap, httpx.Errorf(http.StatusServiceUnavailable, "store-unavailable", "The PAC file could not be loaded. Try again.", err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/x-ns-proxy-autoconfig")
	h.Set("Cache-Control", "max-age=300")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write([]byte("// Gatehouse gateway: personal PAC file of device " + d.ID + " (the proxy user name).\n" +
			"// The password is not in this file: enter it when the browser asks for the proxy's credentials.\n" +
			gateway.PAC(proxy, snap.AuthHost)))
	}
}
