package oidcop_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestPromptLoginAndMaxAge: prompt=login and max_age ask the login step for a login at or after a
// time (the org session's login is ten minutes old in the harness); an older one logs in again,
// and the login comes back to the request without prompt=login but with the time it was asked,
// so the fresh session answers it. prompt=none with a max_age the session does not meet is
// login_required; a malformed max_age is invalid_request.
func TestPromptLoginAndMaxAge(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	now := h.clock.Now()
	lastAsk := func() time.Time {
		t.Helper()
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.freshness[len(h.freshness)-1].AuthAfter
	}

	// max_age larger than the session's age: the session answers.
	q := authzParams(verifier)
	q.Set("max_age", "3600")
	h.code(t, q)
	if got := lastAsk(); !got.Equal(now.Add(-time.Hour)) {
		t.Errorf("max_age=3600 asked for a login after %s", got)
	}

	// max_age smaller: a login.
	q.Set("max_age", "60")
	w := h.get("authorization", q)
	if w.Code != http.StatusFound || !strings.HasPrefix(w.Header().Get("Location"), "/login?") {
		t.Fatalf("max_age=60 with a 10-minute-old login: %d %s", w.Code, w.Header().Get("Location"))
	}

	// prompt=login: a login, coming back without prompt=login.
	q = authzParams(verifier)
	q.Set("prompt", "login consent")
	w = h.get("authorization", q)
	loc, _ := url.Parse(w.Header().Get("Location"))
	back, _ := url.Parse(loc.Query().Get("return"))
	bq := back.Query()
	if w.Code != http.StatusFound || !lastAsk().Equal(now) || bq.Get("prompt") != "consent" || bq.Get("gatehouse_login_after") == "" {
		t.Fatalf("prompt=login: %d, asked %s, returns to %s", w.Code, lastAsk(), back)
	}
	// The return with the same old session asks again; after the fresh login it answers.
	if w := h.get("authorization", bq); w.Code != http.StatusFound || !strings.HasPrefix(w.Header().Get("Location"), "/login?") {
		t.Fatalf("the continuation accepted the old login: %d %s", w.Code, w.Header().Get("Location"))
	}
	h.mu.Lock()
	h.loginAt = now
	h.mu.Unlock()
	h.code(t, bq)
	if !lastAsk().Equal(now) {
		t.Errorf("continuation asked for a login after %s, want %s", lastAsk(), now)
	}

	// prompt=none: no page, login_required.
	h.mu.Lock()
	h.loginAt = now.Add(-time.Hour)
	h.mu.Unlock()
	q = authzParams(verifier)
	q.Set("prompt", "none")
	q.Set("max_age", "60")
	if got := location(t, h.get("authorization", q), redirectURI); got.Get("error") != "login_required" {
		t.Errorf("prompt=none max_age=60: %v", got)
	}

	for _, bad := range []string{"-1", "1.5", "soon", "99999999999999999999"} {
		q = authzParams(verifier)
		q.Set("max_age", bad)
		if got := location(t, h.get("authorization", q), redirectURI); got.Get("error") != "invalid_request" {
			t.Errorf("max_age=%s: %v", bad, got)
		}
	}
}
