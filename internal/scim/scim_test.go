package scim_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/scim"
	"github.com/gatehouse/gatehouse/internal/store"
)

func TestAuthentication(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		name, idp, auth string
		status          int
	}{
		{"missing bearer", "okta", "", http.StatusUnauthorized},
		{"wrong scheme", "okta", "Basic " + h.secrets["okta"], http.StatusUnauthorized},
		{"wrong secret", "okta", "Bearer ghscim_nope", http.StatusUnauthorized},
		{"token of another IdP", "okta", "Bearer " + h.secrets["entra"], http.StatusUnauthorized},
		{"token of a disabled IdP on its own endpoint", "off", "Bearer " + h.secrets["off"], http.StatusNotFound},
		{"IdP without SCIM", "pin", "Bearer " + h.secrets["okta"], http.StatusNotFound},
		{"unknown IdP", "nope", "Bearer " + h.secrets["okta"], http.StatusNotFound},
		{"right secret", "okta", "Bearer " + h.secrets["okta"], http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.doAuth(tc.idp, tc.auth, http.MethodGet, "/Users", "")
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Raw)
			}
			if tc.status == http.StatusUnauthorized && !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without a Bearer WWW-Authenticate challenge")
			}
			if strings.Contains(r.Raw, h.secrets["okta"]) || strings.Contains(r.Raw, h.secrets["entra"]) {
				t.Errorf("a secret is echoed: %s", r.Raw)
			}
		})
	}
	// Rotation invalidates the old secret at once.
	old := h.secrets["okta"]
	s, err := scim.RotateSecret(t.Context(), h.st, "okta")
	if err != nil {
		t.Fatal(err)
	}
	h.scimError(h.doAuth("okta", "Bearer "+old, http.MethodGet, "/Users", ""), http.StatusUnauthorized, "")
	h.must(h.doAuth("okta", "Bearer "+s, http.MethodGet, "/Users", ""), http.StatusOK)
}

func TestUserLifecycle(t *testing.T) {
	h := newHarness(t)
	r := h.must(h.do("okta", http.MethodPost, "/Users", userBody("alice@example.com", "00u1")), http.StatusCreated)
	id := r.str("id")
	if !regexpUUID(id) {
		t.Fatalf("id %q is not a UUID", id)
	}
	meta, _ := r.Body["meta"].(map[string]any)
	if meta["resourceType"] != "User" || meta["location"] != base+"okta/Users/"+id || meta["version"] != `W/"2"` ||
		meta["created"] == nil || meta["lastModified"] == nil {
		t.Errorf("meta = %v", meta)
	}
	if r.Header.Get("Location") != base+"okta/Users/"+id || r.Header.Get("ETag") != `W/"2"` {
		t.Errorf("Location %q ETag %q", r.Header.Get("Location"), r.Header.Get("ETag"))
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/scim+json" {
		t.Errorf("Content-Type %q", ct)
	}
	if g, ok := r.Body["groups"].([]any); !ok || len(g) != 0 {
		t.Errorf("groups = %v, want an empty list", r.Body["groups"])
	}

	got := h.must(h.do("okta", http.MethodGet, "/Users/"+id, ""), http.StatusOK)
	if got.str("userName") != "alice@example.com" || got.str("externalId") != "00u1" || got.Body["active"] != true {
		t.Errorf("GET = %s", got.Raw)
	}
	h.scimError(h.do("okta", http.MethodPost, "/Users", userBody("ALICE@example.com", "00u2")), http.StatusConflict, "uniqueness")

	// PUT replaces; If-Match must name the current version.
	h.scimError(h.do("okta", http.MethodPut, "/Users/"+id, userBody("alice@example.com", "00u1"), "If-Match", `W/"1"`),
		http.StatusPreconditionFailed, "")
	put := h.must(h.do("okta", http.MethodPut, "/Users/"+id, strings.Replace(userBody("alice@example.com", "00u1"), `"Given"`, `"Alicia"`, 1),
		"If-Match", `W/"2"`), http.StatusOK)
	if name, _ := put.Body["name"].(map[string]any); name["givenName"] != "Alicia" || put.Header.Get("ETag") != `W/"3"` {
		t.Errorf("PUT = %s (ETag %s)", put.Raw, put.Header.Get("ETag"))
	}

	h.must(h.do("okta", http.MethodDelete, "/Users/"+id, ""), http.StatusNoContent)
	h.scimError(h.do("okta", http.MethodGet, "/Users/"+id, ""), http.StatusNotFound, "")
	h.scimError(h.do("okta", http.MethodDelete, "/Users/"+id, ""), http.StatusNotFound, "")
	// Another IdP never sees okta's resources.
	id2 := h.must(h.do("okta", http.MethodPost, "/Users", userBody("bob@example.com", "00u3")), http.StatusCreated).str("id")
	h.scimError(h.do("entra", http.MethodGet, "/Users/"+id2, ""), http.StatusNotFound, "")
	h.scimError(h.do("entra", http.MethodDelete, "/Users/"+id2, ""), http.StatusNotFound, "")
	h.scimError(h.do("entra", http.MethodPatch, "/Users/"+id2, patchBody(`{"op":"replace","path":"active","value":false}`)), http.StatusNotFound, "")
}

func regexpUUID(s string) bool {
	return len(s) == 36 && strings.Count(s, "-") == 4
}

func TestListPaging(t *testing.T) {
	h := newHarness(t)
	for i := range 5 {
		h.must(h.do("okta", http.MethodPost, "/Users", userBody(fmt.Sprintf("u%d@example.com", i), "")), http.StatusCreated)
		h.advance(time.Second)
	}
	h.must(h.do("entra", http.MethodPost, "/Users", userBody("u0@example.com", "")), http.StatusCreated)
	for _, tc := range []struct {
		query                  string
		total, start, n        int
		firstUser, errScimType string
		errStatus              int
	}{
		{query: "", total: 5, start: 1, n: 5, firstUser: "u0@example.com"},
		{query: "startIndex=2&count=2", total: 5, start: 2, n: 2, firstUser: "u1@example.com"},
		{query: "startIndex=0&count=1", total: 5, start: 1, n: 1, firstUser: "u0@example.com"},
		{query: "startIndex=-5", total: 5, start: 1, n: 5},
		{query: "startIndex=6", total: 5, start: 6, n: 0},
		{query: "startIndex=99999999", total: 5, start: 99999999, n: 0},
		{query: "count=0", total: 5, start: 1, n: 0},
		{query: "count=-3", total: 5, start: 1, n: 0},
		{query: "count=100000", total: 5, start: 1, n: 5},
		{query: "startIndex=abc", errStatus: http.StatusBadRequest, errScimType: "invalidValue"},
		{query: "count=1e9", errStatus: http.StatusBadRequest, errScimType: "invalidValue"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			r := h.do("okta", http.MethodGet, "/Users?"+tc.query, "")
			if tc.errStatus != 0 {
				h.scimError(r, tc.errStatus, tc.errScimType)
				return
			}
			h.must(r, http.StatusOK)
			res, _ := r.Body["Resources"].([]any)
			if r.Body["totalResults"] != float64(tc.total) || r.Body["startIndex"] != float64(tc.start) ||
				r.Body["itemsPerPage"] != float64(tc.n) || len(res) != tc.n {
				t.Fatalf("got %s", r.Raw)
			}
			if tc.firstUser != "" && res[0].(map[string]any)["userName"] != tc.firstUser {
				t.Errorf("first user %v, want %s", res[0].(map[string]any)["userName"], tc.firstUser)
			}
		})
	}
	// count is capped at the maximum page size.
	h.srv.MaxPageSize = 2
	r := h.must(h.do("okta", http.MethodGet, "/Users?count=1000", ""), http.StatusOK)
	if r.Body["itemsPerPage"] != float64(2) || r.Body["totalResults"] != float64(5) {
		t.Errorf("count above the maximum: %s", r.Raw)
	}
}

func listUserNames(t *testing.T, h *harness, idp, filter string) ([]string, resp) {
	t.Helper()
	r := h.do(idp, http.MethodGet, "/Users?filter="+url.QueryEscape(filter), "")
	if r.Status != http.StatusOK {
		return nil, r
	}
	var names []string
	res, _ := r.Body["Resources"].([]any)
	for _, x := range res {
		names = append(names, x.(map[string]any)["userName"].(string))
	}
	return names, r
}

func TestFilters(t *testing.T) {
	h := newHarness(t)
	a := h.must(h.do("okta", http.MethodPost, "/Users", userBody("alice@example.com", "ext-a")), http.StatusCreated).str("id")
	b := h.must(h.do("okta", http.MethodPost, "/Users", strings.Replace(userBody("bob@example.com", "ext-b"), `"Given"`, `"Robert"`, 1)), http.StatusCreated).str("id")
	h.must(h.do("okta", http.MethodPatch, "/Users/"+b, patchBody(`{"op":"replace","path":"active","value":false}`)), http.StatusOK)
	// An externalId equal to another user's internal id stays an externalId.
	carol := h.must(h.do("okta", http.MethodPost, "/Users", userBody("carol@example.com", a)), http.StatusCreated).str("id")
	// Carol has a second address: filters on emails.value see every address, not only the primary.
	h.must(h.do("okta", http.MethodPatch, "/Users/"+carol, patchBody(`{"op":"add","path":"emails","value":[{"value":"c.second@example.org","type":"home"}]}`)), http.StatusOK)

	for _, tc := range []struct {
		filter string
		want   []string
	}{
		{`userName eq "ALICE@example.com"`, []string{"alice@example.com"}},
		{`externalId eq "ext-b"`, []string{"bob@example.com"}},
		{`externalId eq "EXT-B"`, nil}, // caseExact
		{`id eq "` + a + `"`, []string{"alice@example.com"}},
		{`externalId eq "` + a + `"`, []string{"carol@example.com"}},
		{`active eq false`, []string{"bob@example.com"}},
		{`emails.value eq "bob@example.com"`, []string{"bob@example.com"}},
		{`emails.value eq "C.Second@example.org"`, []string{"carol@example.com"}}, // a secondary address
		{`userName sw "a" or userName sw "c"`, []string{"alice@example.com", "carol@example.com"}},
		{`not (active eq true)`, []string{"bob@example.com"}},
		{`name.givenName eq "robert"`, []string{"bob@example.com"}},                    // in memory
		{`emails[type eq "work" and value co "carol"]`, []string{"carol@example.com"}}, // in memory
		{`meta.lastModified gt "2000-01-01T00:00:00Z"`, []string{"alice@example.com", "bob@example.com", "carol@example.com"}},
		// Injection-shaped values are just values.
		{`userName eq "x\" OR 1=1 --"`, nil},
		{`userName eq "alice@example.com'); DROP TABLE scim_users; --"`, nil},
		{`displayName co "%"`, nil},
		{`userName co "_"`, nil},
	} {
		t.Run(tc.filter, func(t *testing.T) {
			got, r := listUserNames(t, h, "okta", tc.filter)
			if r.Status != http.StatusOK {
				t.Fatalf("status %d: %s", r.Status, r.Raw)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	for _, bad := range []string{`userName eq`, `userName = "a"`, `1 eq 1`, `userName eq "a" or 1=1`, `(userName eq "a"`,
		`userName eq "a"; DROP TABLE users`, strings.Repeat("(", 200) + `userName eq "a"` + strings.Repeat(")", 200)} {
		_, r := listUserNames(t, h, "okta", bad)
		h.scimError(r, http.StatusBadRequest, "invalidFilter")
	}
	// The store still works after all that.
	if got, _ := listUserNames(t, h, "okta", `userName pr`); len(got) != 3 {
		t.Errorf("users after injection attempts: %v", got)
	}
	h.must(h.do("okta", http.MethodGet, "/Users/"+b, ""), http.StatusOK)
}

func TestMutabilityAndHostileInput(t *testing.T) {
	h := newHarness(t)
	id := h.must(h.do("okta", http.MethodPost, "/Users", userBody("alice@example.com", "00u1")), http.StatusCreated).str("id")

	// A client-chosen id and meta on create are ignored.
	r := h.must(h.do("okta", http.MethodPost, "/Users", `{"id":"attacker-id","meta":{"version":"W/\"99\""},"userName":"bob@example.com"}`), http.StatusCreated)
	if r.str("id") == "attacker-id" || r.Body["meta"].(map[string]any)["version"] == `W/"99"` {
		t.Errorf("client id or meta kept: %s", r.Raw)
	}
	h.scimError(h.do("okta", http.MethodPut, "/Users/"+id, `{"id":"other","userName":"alice@example.com"}`), http.StatusBadRequest, "mutability")
	h.scimError(h.do("okta", http.MethodPatch, "/Users/"+id, patchBody(`{"op":"replace","path":"id","value":"other"}`)), http.StatusBadRequest, "mutability")
	h.scimError(h.do("okta", http.MethodPatch, "/Users/"+id, patchBody(`{"op":"replace","value":{"id":"other"}}`)), http.StatusBadRequest, "mutability")
	h.scimError(h.do("okta", http.MethodPatch, "/Users/"+id, patchBody(`{"op":"replace","path":"meta.version","value":"W/\"1\""}`)), http.StatusBadRequest, "mutability")
	h.scimError(h.do("okta", http.MethodPatch, "/Users/"+id, patchBody(`{"op":"remove","path":"userName"}`)), http.StatusBadRequest, "invalidValue")
	// Okta echoes the id in PATCH bodies: allowed.
	h.must(h.do("okta", http.MethodPatch, "/Users/"+id, patchBody(`{"op":"replace","value":{"id":"`+id+`","active":true}}`)), http.StatusOK)

	// Prototype-pollution-shaped names.
	for _, body := range []string{
		`{"userName":"x@example.com","__proto__":{"admin":true}}`,
		`{"userName":"x@example.com","name":{"constructor":{"prototype":{"admin":true}},"__proto__":1}}`,
		`{"userName":"x@example.com","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"__proto__":{"a":1}}}`,
	} {
		h.scimError(h.do("okta", http.MethodPost, "/Users", body), http.StatusBadRequest, "invalidSyntax")
	}
	for _, path := range []string{"__proto__.admin", "constructor.prototype.admin", "name.__proto__", `emails[__proto__ eq "x"].value`} {
		r := h.do("okta", http.MethodPatch, "/Users/"+id, patchBody(`{"op":"add","path":"`+path+`","value":"x"}`))
		if r.Status != http.StatusBadRequest {
			t.Errorf("PATCH path %s: status %d: %s", path, r.Status, r.Raw)
		}
	}
	got := h.must(h.do("okta", http.MethodGet, "/Users/"+id, ""), http.StatusOK)
	if strings.Contains(got.Raw, "proto") || strings.Contains(got.Raw, "admin") {
		t.Errorf("hostile attribute stored: %s", got.Raw)
	}

	// Oversized bodies and operation counts.
	h.srv.MaxBodyBytes = 4096
	h.scimError(h.do("okta", http.MethodPost, "/Users", `{"userName":"big@example.com","displayName":"`+strings.Repeat("a", 5000)+`"}`),
		http.StatusRequestEntityTooLarge, "")
	h.srv.MaxBodyBytes = 0
	ops := strings.TrimSuffix(strings.Repeat(`{"op":"replace","path":"displayName","value":"x"},`, 101), ",")
	h.scimError(h.do("okta", http.MethodPatch, "/Users/"+id, patchBody(ops)), http.StatusRequestEntityTooLarge, "tooMany")
	h.scimError(h.do("okta", http.MethodPost, "/Users", `{"userName":"a@example.com"} {"userName":"b@example.com"}`), http.StatusBadRequest, "invalidSyntax")
	h.scimError(h.do("okta", http.MethodPost, "/Users", `[]`), http.StatusBadRequest, "invalidSyntax")
	h.scimError(h.do("okta", http.MethodPost, "/Users", `{"userName":""}`), http.StatusBadRequest, "invalidValue")
	h.scimError(h.do("okta", http.MethodPost, "/Users", `{"userName":"x@example.com","active":"maybe"}`), http.StatusBadRequest, "invalidValue")
	h.scimError(h.do("okta", http.MethodPatch, "/Users/"+id, `{"Operations":[]}`), http.StatusBadRequest, "invalidSyntax")
	h.scimError(h.do("okta", http.MethodGet, "/Users/"+id+"/extra", ""), http.StatusNotFound, "")
	h.scimError(h.do("okta", http.MethodPost, "/Users/"+id, "{}"), http.StatusMethodNotAllowed, "")
}

// TestRegistryLinking pins the linking rule down: a SCIM user is linked to the registry user of
// the same e-mail only if that user is already linked to the same IdP; otherwise deprovisioning
// through this IdP never touches it.
func TestRegistryLinking(t *testing.T) {
	h := newHarness(t)
	// bob only ever logged in through the PIN IdP.
	bob := h.login("bob@example.com", "pin", "sess-bob")
	r := h.must(h.do("okta", http.MethodPost, "/Users", userBody("bob@example.com", "00ubob")), http.StatusCreated)
	if c := h.lastChange(); !slices.Contains(c.Effects, "not-linked-other-idp") {
		t.Errorf("effects %v, want not-linked-other-idp", c.Effects)
	}
	h.must(h.do("okta", http.MethodPatch, "/Users/"+r.str("id"), patchBody(`{"op":"replace","value":{"active":false}}`)), http.StatusOK)
	h.must(h.do("okta", http.MethodDelete, "/Users/"+r.str("id"), ""), http.StatusNoContent)
	if h.sessionRevoked("sess-bob") || h.registryUser("bob@example.com").Status != store.UserActive {
		t.Fatalf("another IdP's SCIM deprovisioned bob")
	}
	if h.revocations() != 0 {
		t.Errorf("revocations reloaded %d times", h.revocations())
	}

	// carol logged in through okta: linked, and deprovisioning cuts her off.
	carol := h.login("carol@example.com", "okta", "sess-carol")
	r = h.must(h.do("okta", http.MethodPost, "/Users", userBody("carol@example.com", "00ucarol")), http.StatusCreated)
	if c := h.lastChange(); !slices.Contains(c.Effects, "linked") {
		t.Errorf("effects %v, want linked", c.Effects)
	}
	h.must(h.do("okta", http.MethodPatch, "/Users/"+r.str("id"), patchBody(`{"op":"replace","value":{"active":false}}`)), http.StatusOK)
	if !h.sessionRevoked("sess-carol") || h.registryUser("carol@example.com").Status != store.UserInactive {
		t.Fatalf("carol not deprovisioned")
	}
	if c := h.lastChange(); !slices.Contains(c.Effects, "sessions-revoked") || !slices.Contains(c.Effects, "seat-removed") {
		t.Errorf("effects %v", c.Effects)
	}
	if h.revocations() != 1 {
		t.Errorf("Revoked called %d times, want 1", h.revocations())
	}
	revs, err := h.st.Revocations(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := revs.UserNotBefore[carol.ID]; !ok {
		t.Errorf("no user-wide not-before for carol")
	}
	if _, ok := revs.UserNotBefore[bob.ID]; ok {
		t.Errorf("bob has a not-before")
	}
	// Reactivation.
	h.must(h.do("okta", http.MethodPatch, "/Users/"+r.str("id"), patchBody(`{"op":"replace","path":"active","value":"True"}`)), http.StatusOK)
	if h.registryUser("carol@example.com").Status != store.UserActive {
		t.Errorf("carol not reactivated")
	}

	// dave is new to Gatehouse: provisioning creates him, linked to okta; entra cannot take him.
	h.must(h.do("okta", http.MethodPost, "/Users", userBody("dave@example.com", "00udave")), http.StatusCreated)
	dave := h.registryUser("dave@example.com")
	if !slices.Equal(dave.IdPIDs, []string{"okta"}) {
		t.Errorf("dave IdPIDs %v", dave.IdPIDs)
	}
	e := h.must(h.do("entra", http.MethodPost, "/Users", userBody("dave@example.com", "entra-dave")), http.StatusCreated)
	h.must(h.do("entra", http.MethodDelete, "/Users/"+e.str("id"), ""), http.StatusNoContent)
	if h.registryUser("dave@example.com").Status != store.UserActive {
		t.Errorf("entra deprovisioned okta's dave")
	}
	// A registry user created inactive by provisioning cannot log in.
	h.must(h.do("okta", http.MethodPost, "/Users", strings.Replace(userBody("erin@example.com", "00uerin"), `"active":true`, `"active":false`, 1)), http.StatusCreated)
	if h.registryUser("erin@example.com").Status != store.UserInactive {
		t.Errorf("erin provisioned inactive is active in the registry")
	}
}

func TestDiscovery(t *testing.T) {
	h := newHarness(t)
	r := h.must(h.do("okta", http.MethodGet, "/ServiceProviderConfig", ""), http.StatusOK)
	if p, _ := r.Body["patch"].(map[string]any); p["supported"] != true {
		t.Errorf("ServiceProviderConfig = %s", r.Raw)
	}
	r = h.must(h.do("okta", http.MethodGet, "/ResourceTypes", ""), http.StatusOK)
	if r.Body["totalResults"] != float64(2) {
		t.Errorf("ResourceTypes = %s", r.Raw)
	}
	h.must(h.do("okta", http.MethodGet, "/ResourceTypes/User", ""), http.StatusOK)
	r = h.must(h.do("okta", http.MethodGet, "/Schemas", ""), http.StatusOK)
	if !strings.Contains(r.Raw, scim.SchemaUser) || !strings.Contains(r.Raw, scim.SchemaGroup) || !strings.Contains(r.Raw, `"mutability":"readOnly"`) {
		t.Errorf("Schemas = %.500s", r.Raw)
	}
	h.must(h.do("okta", http.MethodGet, "/Schemas/"+scim.SchemaUser, ""), http.StatusOK)
	h.scimError(h.do("okta", http.MethodGet, "/Schemas/nope", ""), http.StatusNotFound, "")
	h.scimError(h.do("okta", http.MethodPost, "/Schemas", "{}"), http.StatusMethodNotAllowed, "")
	h.scimError(h.doAuth("okta", "", http.MethodGet, "/Schemas", ""), http.StatusUnauthorized, "")
}
