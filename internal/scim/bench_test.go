package scim_test

import (
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// benchUsers is the size of the pre-seeded SCIM user table.
const benchUsers = 100_000

var benchIDs = func() []string {
	ids := make([]string, benchUsers)
	for i := range ids {
		ids[i] = fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
	}
	return ids
}()

// seeded returns a harness whose okta IdP has benchUsers SCIM users, bulk-inserted in one
// transaction straight into the store's database (the store API commits one user per
// transaction, which would take most of the benchmark's time budget).
func seeded(b *testing.B) *harness {
	start := time.Now()
	h := newBenchHarness(b)
	db, err := sql.Open("sqlite", h.dbFile)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	stmt, err := tx.Prepare(`INSERT INTO scim_users (id, idp_id, external_id, user_name, user_name_folded, display_name, email, active,
		registry_user_id, owns_registry_user, version, created_at, updated_at, attributes) VALUES (?, 'okta', ?, ?, ?, '', ?, 1, '', 0, 1, ?, ?, ?)`)
	if err != nil {
		b.Fatal(err)
	}
	now := h.clock().UnixMicro()
	for i, id := range benchIDs {
		name := fmt.Sprintf("user%d@example.com", i)
		if _, err := stmt.Exec(id, fmt.Sprintf("ext-%d", i), name, name, name, now+int64(i), now+int64(i),
			`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"name":{"givenName":"G","familyName":"F"}}`); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d users in %v", benchUsers, time.Since(start))
	return h
}

func BenchmarkCreateUser(b *testing.B) {
	h := seeded(b)
	i := 0
	for b.Loop() {
		r := h.do("okta", http.MethodPost, "/Users", userBody(fmt.Sprintf("new%d-%d@example.com", b.N, i), ""))
		if r.Status != http.StatusCreated {
			b.Fatalf("status %d: %s", r.Status, r.Raw)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

func BenchmarkPatchUser(b *testing.B) {
	h := seeded(b)
	i := 0
	for b.Loop() {
		id := benchIDs[(i*7919)%len(benchIDs)]
		r := h.do("okta", http.MethodPatch, "/Users/"+id, patchBody(fmt.Sprintf(`{"op":"replace","path":"displayName","value":"n%d"}`, i)))
		if r.Status != http.StatusOK {
			b.Fatalf("status %d: %s", r.Status, r.Raw)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

func BenchmarkListUserNameEq(b *testing.B) {
	h := seeded(b)
	i := 0
	for b.Loop() {
		q := url.QueryEscape(fmt.Sprintf(`userName eq "USER%d@example.com"`, (i*7919)%benchUsers))
		r := h.do("okta", http.MethodGet, "/Users?filter="+q, "")
		if r.Status != http.StatusOK || r.Body["totalResults"] != float64(1) {
			b.Fatalf("status %d: %s", r.Status, r.Raw)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}
