package app_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

func TestInternalListenerAndLimits(t *testing.T) {
	e := testenv.Start(t, "limits: {max_request_body_bytes: 1KiB}\n"+`
organization: {name: T, auth_domain: auth.localhost}
identity_providers: [{id: pin, name: PIN, type: onetimepin}]
applications:
  - {id: app, name: App, destinations: [app.localhost], upstream: UPSTREAM, policies: [{ref: open, precedence: 1}]}
policies:
  - {id: open, decision: bypass, include: [{everyone: {}}]}
`)
	e.Upstream.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			return // the proxy reports the limit
		}
		w.WriteHeader(http.StatusOK)
	})
	c := e.NewBrowser()
	req, _ := http.NewRequest(http.MethodPost, e.URL("app.localhost", "/upload"), strings.NewReader(strings.Repeat("x", 512)))
	if resp, _ := c.Do(t, req); resp.StatusCode != http.StatusOK {
		t.Errorf("small body: %d", resp.StatusCode)
	}
	req, _ = http.NewRequest(http.MethodPost, e.URL("app.localhost", "/upload"), strings.NewReader(strings.Repeat("x", 4096)))
	if resp, _ := c.Do(t, req); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: %d, want 413", resp.StatusCode)
	}

	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + e.Internal + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("healthz: %d %q", code, body)
	}
	if code, body := get("/readyz"); code != 200 || body != "ready\n" {
		t.Errorf("readyz: %d %q", code, body)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, `gatehouse_proxy_requests_total{app="app",code="2xx",outcome="forward"}`) {
		t.Errorf("metrics: %d\n%s", code, body)
	}
	// The internal endpoints are not on the public listener.
	if resp, _ := c.Get(t, e.URL("app.localhost", "/metrics")); resp.StatusCode == 200 && strings.Contains(resp.Header.Get("Content-Type"), "text/plain; version") {
		t.Errorf("metrics served on the public listener")
	}
}
