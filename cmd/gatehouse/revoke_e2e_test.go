package main

import (
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestCLIRevocationReachesRunningServer: `gatehouse users revoke`, a separate store handle on
// the running server's database (as another process would be), ends the user's session; the
// server refuses the old cookie within a second, without a restart.
func TestCLIRevocationReachesRunningServer(t *testing.T) {
	e := testenv.Start(t, "")
	b := e.NewBrowser()
	if resp, body := b.Login(t, e.URL("app.localhost", "/"), "alice@example.com"); resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %d %s", resp.StatusCode, body)
	}
	if _, _, err := run(t, "users", "revoke", "alice@example.com", "--config", filepath.Join(e.Dir, "gatehouse.yaml")); err != nil {
		t.Fatalf("users revoke: %v", err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodGet, e.URL("app.localhost", "/after"), nil)
		req.Header.Set("Accept", "application/json")
		if resp, _ := b.Do(t, req); resp.StatusCode == http.StatusUnauthorized {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the running server still accepts the session 3 s after the CLI revoked it")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
