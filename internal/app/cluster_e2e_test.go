package app_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/token"
)

// clusterStorages are the databases the multi-replica test runs on: SQLite (one shared file)
// and, when GATEHOUSE_TEST_POSTGRES_DSN is set, PostgreSQL.
func clusterStorages(t *testing.T) map[string]string {
	m := map[string]string{"sqlite": ""}
	if os.Getenv("GATEHOUSE_TEST_POSTGRES_DSN") != "" || os.Getenv("CI") == "true" {
		m["postgres"] = `storage: {driver: postgres, dsn: "` + testenv.PostgresDSN(t) + `"}`
	} else {
		t.Log("PostgreSQL replicas SKIPPED: set GATEHOUSE_TEST_POSTGRES_DSN")
	}
	return m
}

// TestClusterThreeReplicas runs three replicas on one database with every request going to the
// next replica in turn: a login that starts on one replica completes on others; revocations,
// configuration changes and key rotations reach every replica within a second; key rotation under
// contention happens exactly once; PIN attempts are counted across replicas.
func TestClusterThreeReplicas(t *testing.T) {
	for name, storage := range clusterStorages(t) {
		t.Run(name, func(t *testing.T) {
			c := testenv.StartCluster(t, 3, "", storage)
			r0 := c.Replicas[0]
			ctx := context.Background()

			// A login alternating across replicas at every request.
			b := c.NewBrowser()
			resp, body := b.Login(t, r0.URL("app.localhost", "/cluster"), "alice@example.com")
			if resp.StatusCode != http.StatusOK || decodeUpstream(t, body).Path != "/cluster" {
				t.Fatalf("login across replicas: %d %s", resp.StatusCode, body)
			}
			get := func(b *testenv.Browser) int {
				req, _ := http.NewRequest(http.MethodGet, r0.URL("app.localhost", "/x"), nil)
				req.Header.Set("Accept", "application/json")
				resp, _ := b.Do(t, req)
				return resp.StatusCode
			}
			for range 3 {
				if s := get(b); s != http.StatusOK {
					t.Fatalf("session on some replica: %d", s)
				}
			}

			// Every replica must see a change within a second.
			within := func(what string, ok func() bool) {
				t.Helper()
				deadline := time.Now().Add(time.Second)
				for !ok() {
					if time.Now().After(deadline) {
						t.Fatalf("%s did not reach every replica within a second", what)
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
			allRefuse := func(b *testenv.Browser) func() bool {
				return func() bool {
					for range 6 { // two rounds over the three replicas
						if get(b) != http.StatusUnauthorized {
							return false
						}
					}
					return true
				}
			}

			// A revocation written through replica 1's store.
			u, err := c.Replicas[1].G.Store.GetUser(ctx, userIDOf(t, r0, b))
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Replicas[1].G.Store.RevokeUserSessions(ctx, u.ID); err != nil {
				t.Fatal(err)
			}
			within("a revocation", allRefuse(b))

			// A configuration change written through replica 2's store: nobody may use the app.
			r0.Clock.Advance(2 * time.Second) // after the user-wide revocation's second
			b2 := c.NewBrowser()
			if resp, body := b2.Login(t, r0.URL("app.localhost", "/"), "bob@example.com"); resp.StatusCode != http.StatusOK {
				t.Fatalf("second login: %d %s", resp.StatusCode, body)
			}
			_, err = c.Replicas[2].G.Store.UpdateConfig(ctx, func(cfg *store.Config) error {
				for i := range cfg.Policies {
					if cfg.Policies[i].ID == "example" {
						cfg.Policies[i].Include = []store.Rule{{Email: &store.EmailRule{Email: "nobody@example.com"}}}
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			within("a configuration change", func() bool {
				for range 6 {
					if get(b2) != http.StatusForbidden {
						return false
					}
				}
				return true
			})

			// Key rotation when due, by all replicas at once: exactly one rotation.
			before, _ := r0.G.Store.SigningKeys(ctx)
			r0.Clock.Advance(1009 * time.Hour)
			var wg sync.WaitGroup
			rotated := make(chan bool, len(c.Replicas))
			for _, r := range c.Replicas {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ok, err := r.G.Keys.RotateIfDue(ctx)
					if err != nil {
						t.Errorf("RotateIfDue: %v", err)
					}
					rotated <- ok
				}()
			}
			wg.Wait()
			close(rotated)
			n := 0
			for ok := range rotated {
				if ok {
					n++
				}
			}
			after, _ := r0.G.Store.SigningKeys(ctx)
			if n != 1 || len(after) != len(before)+1 {
				t.Errorf("%d replicas rotated (keys %d -> %d), want exactly one rotation", n, len(before), len(after))
			}
			_, current := c.Replicas[1].G.Keys.Signer()
			within("a key rotation", func() bool {
				for _, r := range c.Replicas {
					if _, kid := r.G.Keys.Signer(); kid != current {
						return false
					}
				}
				return true
			})
		})
	}
}

// userIDOf returns the user behind a browser's app cookie.
func userIDOf(t *testing.T, e *testenv.Env, b *testenv.Browser) string {
	t.Helper()
	u, _ := url.Parse(e.URL("app.localhost", "/"))
	for _, ck := range b.Jar.Cookies(u) {
		if ck.Name == "Gatehouse_Authorization" {
			claims, err := token.NewVerifier(e.G.Keys, e.G.Snapshots.Load().Issuer, e.Clock.Now).Verify(ck.Value)
			if err != nil {
				t.Fatal(err)
			}
			return claims.Subject
		}
	}
	t.Fatal("no app cookie")
	return ""
}

// TestClusterPINAttemptsAcrossReplicas: wrong PINs sent to different replicas share one budget.
func TestClusterPINAttemptsAcrossReplicas(t *testing.T) {
	c := testenv.StartCluster(t, 3, "", "")
	r0 := c.Replicas[0]
	b := c.NewBrowser()
	resp, page := b.Get(t, r0.URL("app.localhost", "/"))
	base := resp.Request.URL
	action, fields := testenv.Form(t, page)
	fields.Set("email", "carol@example.com")
	_, page = b.PostForm(t, base.ResolveReference(&url.URL{Path: action}).String(), fields)
	action, fields = testenv.Form(t, page)
	pin := r0.PINs.Wait(t, "carol@example.com")
	wrong := "000000"
	if pin == wrong {
		wrong = "111111"
	}
	verify := base.ResolveReference(&url.URL{Path: action}).String()
	for range 5 { // five attempts, each on the next replica
		fields.Set("code", wrong)
		b.PostForm(t, verify, fields)
	}
	fields.Set("code", pin)
	if resp, _ := b.PostForm(t, verify, fields); resp.StatusCode != http.StatusForbidden {
		t.Errorf("right PIN after 5 wrong attempts spread over 3 replicas: %d, want 403", resp.StatusCode)
	}
}
