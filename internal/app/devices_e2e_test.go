package app_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/authn"
	"github.com/gatehouse/gatehouse/internal/gateway/ca"
	"github.com/gatehouse/gatehouse/internal/gateway/devices"
	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/internal/scim"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// devicesConfig has a warp application admitting alice and bob (an app admits all of
// example.com), SCIM with deprovisioning, and the gateway reaching a local origin pinned as
// app.example.com.
const devicesConfig = `
organization:
  name: Test Org
  auth_domain: auth.localhost
identity_providers:
  - id: pin
    name: E-mail PIN
    type: onetimepin
    scim_config: {enabled: true, user_deprovision: true, identity_update_behavior: automatic}
applications:
  - {id: enrol, name: Device enrollment, type: warp, policies: [{ref: enrollers, precedence: 1}]}
  - {id: app, name: App, destinations: [app.localhost], upstream: UPSTREAM, policies: [{ref: staff, precedence: 1}]}
policies:
  - {id: staff, decision: allow, include: [{email_domain: {domain: example.com}}]}
  - {id: enrollers, decision: allow, include: [{email: {email: alice@example.com}}, {email: {email: bob@example.com}}]}
gateway:
  hosts: {app.example.com: 127.0.0.1}
  allowed_private_networks: [127.0.0.0/8]
`

var (
	credUser = regexp.MustCompile(`<dt>User name</dt><dd><code>([^<]+)</code>`)
	credPass = regexp.MustCompile(`<dt>Password</dt><dd><code>([^<]+)</code>`)
)

// enrolDevice logs b in (when needed) on the enrolment page, enrols a device called name and
// returns its proxy credentials, the result page and the form it posted.
func enrolDevice(t *testing.T, e *testenv.Env, b *testenv.Browser, email, name string) (user, pass, page string, form url.Values) {
	t.Helper()
	enroll := e.URL("auth.localhost", "/.gatehouse/gateway/enroll")
	resp, page := b.Get(t, enroll)
	if !strings.Contains(page, `name="op" value="enroll"`) {
		resp, page = b.Login(t, enroll, email)
	}
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/.gatehouse/gateway/enroll" || !strings.Contains(page, "Enroll a device") {
		t.Fatalf("enrolment page after login: %d %s\n%s", resp.StatusCode, resp.Request.URL, page)
	}
	action, fields := testenv.Form(t, page)
	fields.Set("name", name)
	resp, page = b.PostForm(t, e.URL("auth.localhost", action), fields)
	u, p := credUser.FindStringSubmatch(page), credPass.FindStringSubmatch(page)
	if resp.StatusCode != http.StatusOK || u == nil || p == nil {
		t.Fatalf("enrol: %d\n%s", resp.StatusCode, page)
	}
	return html.UnescapeString(u[1]), html.UnescapeString(p[1]), page, fields
}

// viaDevice sends one absolute-form request through the gateway with device credentials.
func viaDevice(t *testing.T, e *testenv.Env, o *origin, user, pass string) int {
	t.Helper()
	resp, _ := rawProxy(t, e, fmt.Sprintf("GET http://app.example.com:%s/x HTTP/1.1\r\nHost: app.example.com:%s\r\nProxy-Authorization: %s\r\nConnection: close\r\n\r\n",
		port(t, o.URL), port(t, o.URL), basicAuth(user, pass)))
	return resp.StatusCode
}

// TestDeviceEnrolmentThroughGateway: a user enrols a device on the auth domain and browses
// through the gateway with its credentials (shown once); revoking it on the page, deprovisioning
// the user over SCIM, and `users revoke` each refuse the device's very next request with 407.
func TestDeviceEnrolmentThroughGateway(t *testing.T) {
	o := newOrigin(t)
	e := testenv.StartGateway(t, devicesConfig)
	b := e.NewBrowser()
	user, pass, page, form := enrolDevice(t, e, b, "alice@example.com", "Alice's <laptop>")
	for _, want := range []string{
		"Alice&#39;s &lt;laptop&gt;", "auth.localhost:" + port(t, "http://"+e.Gateway),
		"/.gatehouse/gateway/pac/" + user + ".pac", "npm config set https-proxy", "pip config set global.proxy",
		"HTTPS_PROXY", "git config --global http.proxy", "TLS inspection is not set up",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the enrolled page lacks %q", want)
		}
	}
	if strings.Contains(page, "CURL_CA_BUNDLE") {
		t.Error("without a gateway CA the page tells tools to use one")
	}
	if cc := b.Jar.Cookies(mustParse(t, e.URL("auth.localhost", "/"))); len(cc) == 0 {
		t.Fatal("no session cookie after login")
	}

	// The same form posted again (a reload of the credentials page) enrols nothing.
	resp, again := b.PostForm(t, e.URL("auth.localhost", "/.gatehouse/gateway/enroll"), form)
	if resp.StatusCode != http.StatusConflict || credPass.MatchString(again) || !strings.Contains(again, "already sent") {
		t.Fatalf("form posted twice: %d\n%s", resp.StatusCode, again)
	}
	if devs, _ := e.G.Store.(store.GatewayDevices).ListGatewayDevices(t.Context(), ""); len(devs) != 1 {
		t.Fatalf("%d devices after posting the form twice, want 1", len(devs))
	}

	// Shown once: the list shows the device, never its secret.
	_, list := b.Get(t, e.URL("auth.localhost", "/.gatehouse/gateway/enroll"))
	if !strings.Contains(list, user) || strings.Contains(list, pass) {
		t.Fatalf("device list: has the device %v, shows the secret %v", strings.Contains(list, user), strings.Contains(list, pass))
	}

	if got := viaDevice(t, e, o, user, pass); got != http.StatusOK {
		t.Fatalf("enrolled device through the gateway: %d, want 200", got)
	}
	if seen, _ := o.seen(); seen == nil || seen.URL.Path != "/x" {
		t.Fatal("the origin did not get the device's request")
	}
	if got := viaDevice(t, e, o, user, pass+"x"); got != http.StatusProxyAuthRequired {
		t.Errorf("wrong secret: %d, want 407", got)
	}
	if got := viaDevice(t, e, o, "00000000-0000-4000-8000-000000000000", pass); got != http.StatusProxyAuthRequired {
		t.Errorf("unknown device: %d, want 407", got)
	}

	// The personal PAC file names the proxy and holds no secret.
	resp, pac := b.Get(t, e.URL("auth.localhost", "/.gatehouse/gateway/pac/"+user+".pac"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(pac, "PROXY auth.localhost:") || strings.Contains(pac, pass) {
		t.Errorf("personal PAC: %d\n%s", resp.StatusCode, pac)
	}

	// Revoke on the page (CSRF token from the list's revoke form).
	revoke := regexp.MustCompile(`<input type="hidden" name="csrf" value="([^"]+)"><input type="hidden" name="op" value="revoke"><input type="hidden" name="device" value="` + user + `">`).FindStringSubmatch(list)
	if revoke == nil {
		t.Fatalf("no revoke form for the device:\n%s", list)
	}
	resp, _ = b.PostForm(t, e.URL("auth.localhost", "/.gatehouse/gateway/enroll"), url.Values{"csrf": {revoke[1] + "0"}, "op": {"revoke"}, "device": {user}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("revoke with a bad CSRF token: %d, want 403", resp.StatusCode)
	}
	if got := viaDevice(t, e, o, user, pass); got != http.StatusOK {
		t.Fatalf("a refused revocation revoked: %d", got)
	}
	resp, list = b.PostForm(t, e.URL("auth.localhost", "/.gatehouse/gateway/enroll"), url.Values{"csrf": {html.UnescapeString(revoke[1])}, "op": {"revoke"}, "device": {user}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(list, "Revoked 20") {
		t.Fatalf("revoke: %d\n%s", resp.StatusCode, list)
	}
	if got := viaDevice(t, e, o, user, pass); got != http.StatusProxyAuthRequired {
		t.Fatalf("revoked device through the gateway: %d, want 407", got)
	}
	if resp, _ := b.Get(t, e.URL("auth.localhost", "/.gatehouse/gateway/pac/"+user+".pac")); resp.StatusCode != http.StatusNotFound {
		t.Errorf("PAC of a revoked device: %d, want 404", resp.StatusCode)
	}

	// `gatehouse users revoke` (the admin service) revokes the user's devices too.
	user2, pass2, _, _ := enrolDevice(t, e, b, "alice@example.com", "phone")
	if got := viaDevice(t, e, o, user2, pass2); got != http.StatusOK {
		t.Fatalf("second device: %d, want 200", got)
	}
	// As the CLI does it, from outside the server (no AfterRevoke): the server learns of it
	// from the store's change feed.
	svc := &admin.Service{Store: e.G.Store}
	if _, err := svc.RevokeUser(t.Context(), admin.CLIActor, "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(3 * time.Second); viaDevice(t, e, o, user2, pass2) != http.StatusProxyAuthRequired; {
		if time.Now().After(deadline) {
			t.Fatal("device still accepted 3s after users revoke, want 407")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// SCIM deprovisioning revokes at once.
	secret, err := scim.RotateSecret(t.Context(), e.G.Store, "pin")
	if err != nil {
		t.Fatal(err)
	}
	b2 := e.NewBrowser()
	user3, pass3, _, _ := enrolDevice(t, e, b2, "bob@example.com", "desktop")
	if got := viaDevice(t, e, o, user3, pass3); got != http.StatusOK {
		t.Fatalf("bob's device: %d, want 200", got)
	}
	status, res := scimCall(t, e, secret, http.MethodPost, "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
		"userName":"bob@example.com","emails":[{"primary":true,"value":"bob@example.com"}],"active":true}`)
	if status != http.StatusCreated {
		t.Fatalf("POST /Users: %d %v", status, res)
	}
	status, res = scimCall(t, e, secret, http.MethodPatch, "/Users/"+res["id"].(string),
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}`)
	if status != http.StatusOK {
		t.Fatalf("deactivate: %d %v", status, res)
	}
	if got := viaDevice(t, e, o, user3, pass3); got != http.StatusProxyAuthRequired {
		t.Fatalf("device of a deprovisioned user: %d, want 407", got)
	}
	d, err := e.G.Store.(store.GatewayDevices).GetGatewayDevice(context.Background(), user3)
	if err != nil || !d.Revoked() {
		t.Fatalf("deprovisioned user's device: %+v, %v; want revoked", d, err)
	}
}

// TestDeviceEnrolmentPolicy: the warp application's policies decide who may enrol; without a
// warp application nobody may.
func TestDeviceEnrolmentPolicy(t *testing.T) {
	e := testenv.StartGateway(t, devicesConfig)
	b := e.NewBrowser()
	// carol@example.com may use the app, not enrol a device.
	if resp, _ := b.Login(t, e.URL("app.localhost", "/"), "carol@example.com"); resp.StatusCode != http.StatusOK {
		t.Fatalf("carol's login to the app: %d", resp.StatusCode)
	}
	resp, page := b.Get(t, e.URL("auth.localhost", "/.gatehouse/gateway/enroll"))
	if resp.StatusCode != http.StatusForbidden || strings.Contains(page, `value="enroll"`) {
		t.Fatalf("a user the warp policy does not admit: %d\n%s", resp.StatusCode, page)
	}
	evs, err := e.G.Store.ListAuthEvents(t.Context(), store.AuthEventQuery{Email: "carol@example.com"})
	if err != nil || len(evs) == 0 || evs[0].Action != "gateway_enroll" || evs[0].Allowed || evs[0].AppID != "enrol" {
		t.Errorf("the refusal's auth event: %v %+v", err, evs)
	}
	// A post with a valid-looking form is refused the same way (the policy runs first).
	resp, _ = b.PostForm(t, e.URL("auth.localhost", "/.gatehouse/gateway/enroll"), url.Values{"op": {"enroll"}, "name": {"x"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("enrol post by a refused user: %d, want 403", resp.StatusCode)
	}
	if devs, _ := e.G.Store.(store.GatewayDevices).ListGatewayDevices(t.Context(), ""); len(devs) != 0 {
		t.Fatalf("devices were created: %+v", devs)
	}

	none := testenv.StartGateway(t, strings.Replace(devicesConfig,
		"  - {id: enrol, name: Device enrollment, type: warp, policies: [{ref: enrollers, precedence: 1}]}\n", "", 1))
	resp, page = none.NewBrowser().Get(t, none.URL("auth.localhost", "/.gatehouse/gateway/enroll"))
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "not enabled") {
		t.Fatalf("no warp application: %d\n%s", resp.StatusCode, page)
	}
}

// TestDeviceEnrolmentWithCA: with a gateway CA in use, the enrolled page links the CA bundle and
// sets the CA variables; the bundle is the public certificate only, served without a login.
func TestDeviceEnrolmentWithCA(t *testing.T) {
	e := testenv.StartGateway(t, devicesConfig)
	master, err := keys.LoadMasterKey(filepath.Join(e.Dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := ca.NewManager(e.G.Store, master, ca.Options{Organization: "Test Org"})
	if err != nil {
		t.Fatal(err)
	}
	info, err := m.Generate(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Activate(t.Context(), info.ID); err != nil {
		t.Fatal(err)
	}
	_, _, page, _ := enrolDevice(t, e, e.NewBrowser(), "alice@example.com", "laptop")
	caURL := e.URL("auth.localhost", "/.gatehouse/gateway/ca.pem")
	for _, want := range []string{`href="` + caURL + `"`, "CURL_CA_BUNDLE", "GIT_SSL_CAINFO", "NODE_EXTRA_CA_CERTS",
		"REQUESTS_CA_BUNDLE", "PIP_CERT", "npm config set cafile", "update-ca-certificates"} {
		if !strings.Contains(page, want) {
			t.Errorf("the enrolled page lacks %q", want)
		}
	}
	resp, body := e.NewBrowser().Get(t, caURL)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/x-pem-file" || body != info.CertificatePEM {
		t.Fatalf("ca.pem: %d %q\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if strings.Contains(body, "PRIVATE") {
		t.Fatal("ca.pem holds a private key")
	}
}

// TestEnrollPathAgrees: the login flow may return to the enrolment page only if both packages
// name the same path.
func TestEnrollPathAgrees(t *testing.T) {
	if authn.EnrollPath != devices.EnrollPath {
		t.Fatalf("authn.EnrollPath %q, devices.EnrollPath %q", authn.EnrollPath, devices.EnrollPath)
	}
}
