package scim_test

import (
	"database/sql"
	"net/http"
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

// failingStep makes the database refuse one kind of write, as a failure in the middle of a
// SCIM request would: a trigger on the table, installed through a second connection to the
// harness's SQLite file. It returns a function that removes the trigger.
func (h *harness) failingStep(table string) func() {
	h.t.Helper()
	db, err := sql.Open("sqlite", "file:"+h.dbFile+"?_pragma=busy_timeout(5000)")
	if err != nil {
		h.t.Fatal(err)
	}
	exec := func(q string) {
		h.t.Helper()
		if _, err := db.ExecContext(h.t.Context(), q); err != nil {
			h.t.Fatalf("%s: %v", q, err)
		}
	}
	exec("CREATE TRIGGER inject_failure BEFORE UPDATE ON " + table + " BEGIN SELECT RAISE(ABORT, 'injected failure'); END")
	return func() {
		h.t.Helper()
		exec("DROP TRIGGER inject_failure")
		_ = db.Close()
	}
}

// The steps of a deprovisioning after the SCIM write itself: the registry user's update
// (deactivation, groups) and the revocation of its sessions.
var deprovisionSteps = []string{"users", "sessions"}

// TestDeleteUserFailureLeavesRetryableState (issue 12): when the registry user's deactivation or
// the revocation of its sessions fails, the SCIM user is not deleted either, so the IdP's
// retry finds it and completes everything: user gone, registry user inactive, sessions revoked.
func TestDeleteUserFailureLeavesRetryableState(t *testing.T) {
	for _, step := range deprovisionSteps {
		t.Run(step, func(t *testing.T) {
			h := newHarness(t)
			id := h.must(h.do("okta", http.MethodPost, "/Users", userBody("alice@example.com", "00u1")), http.StatusCreated).str("id")
			h.login("alice@example.com", "okta", "sess-1")

			restore := h.failingStep(step)
			if r := h.do("okta", http.MethodDelete, "/Users/"+id, ""); r.Status < 500 {
				t.Fatalf("DELETE with a failing %s step: status %d, want a 5xx the IdP retries", step, r.Status)
			}
			h.must(h.do("okta", http.MethodGet, "/Users/"+id, ""), http.StatusOK)
			if u := h.registryUser("alice@example.com"); u.Status != store.UserActive || h.sessionRevoked("sess-1") {
				t.Fatalf("half-done delete: registry user %s, session revoked %v", u.Status, h.sessionRevoked("sess-1"))
			}
			restore()

			h.must(h.do("okta", http.MethodDelete, "/Users/"+id, ""), http.StatusNoContent)
			h.scimError(h.do("okta", http.MethodGet, "/Users/"+id, ""), http.StatusNotFound, "")
			if u := h.registryUser("alice@example.com"); u.Status != store.UserInactive || !h.sessionRevoked("sess-1") {
				t.Errorf("after the retry: registry user %s, session revoked %v", u.Status, h.sessionRevoked("sess-1"))
			}
			if c := h.lastChange(); c.Status != http.StatusNoContent || !slices.Contains(c.Effects, "deactivated") || !slices.Contains(c.Effects, "sessions-revoked") {
				t.Errorf("change %+v", c)
			}
		})
	}
}

// TestDeactivateUserFailureLeavesRetryableState: the same for deactivation by PATCH and PUT.
func TestDeactivateUserFailureLeavesRetryableState(t *testing.T) {
	deactivate := map[string]func(h *harness, id string) resp{
		"PATCH": func(h *harness, id string) resp {
			return h.do("okta", http.MethodPatch, "/Users/"+id, patchBody(`{"op":"replace","path":"active","value":false}`))
		},
		"PUT": func(h *harness, id string) resp {
			return h.do("okta", http.MethodPut, "/Users/"+id, userBodyActive("alice@example.com", "00u1", false))
		},
	}
	for method, req := range deactivate {
		for _, step := range deprovisionSteps {
			t.Run(method+" "+step, func(t *testing.T) {
				h := newHarness(t)
				id := h.must(h.do("okta", http.MethodPost, "/Users", userBody("alice@example.com", "00u1")), http.StatusCreated).str("id")
				h.login("alice@example.com", "okta", "sess-1")

				restore := h.failingStep(step)
				if r := req(h, id); r.Status < 500 {
					t.Fatalf("%s with a failing %s step: status %d", method, step, r.Status)
				}
				if got := h.must(h.do("okta", http.MethodGet, "/Users/"+id, ""), http.StatusOK); got.Body["active"] != true {
					t.Errorf("half-done deactivation: the SCIM user is inactive already")
				}
				if h.sessionRevoked("sess-1") {
					t.Errorf("half-done deactivation: session revoked")
				}
				restore()

				h.must(req(h, id), http.StatusOK)
				if u := h.registryUser("alice@example.com"); u.Status != store.UserInactive || !h.sessionRevoked("sess-1") {
					t.Errorf("after the retry: registry user %s, session revoked %v", u.Status, h.sessionRevoked("sess-1"))
				}
			})
		}
	}
}

// TestGroupWriteFailureLeavesRetryableState: removing a member from a group (PATCH) or
// deleting the group, with automatic identity updates (okta) or reauth (entra): a failure of
// the registry step undoes the group write, and the retry removes the group from the registry
// user (or revokes its sessions).
func TestGroupWriteFailureLeavesRetryableState(t *testing.T) {
	for _, idp := range []string{"okta", "entra"} {
		for _, write := range []string{"PATCH", "DELETE"} {
			for _, step := range deprovisionSteps {
				if idp == "okta" && step == "sessions" {
					continue // automatic updates revoke nothing
				}
				t.Run(idp+" "+write+" "+step, func(t *testing.T) {
					h := newHarness(t)
					uid := h.must(h.do(idp, http.MethodPost, "/Users", userBody("alice@example.com", "00u1")), http.StatusCreated).str("id")
					gid := h.must(h.do(idp, http.MethodPost, "/Groups",
						`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"admins","members":[{"value":"`+uid+`"}]}`),
						http.StatusCreated).str("id")
					h.login("alice@example.com", idp, "sess-1")
					if idp == "okta" && !slices.Equal(h.registryUser("alice@example.com").SCIMGroups[idp], []string{"admins"}) {
						t.Fatalf("registry groups %v", h.registryUser("alice@example.com").SCIMGroups)
					}
					send := func() resp {
						if write == "DELETE" {
							return h.do(idp, http.MethodDelete, "/Groups/"+gid, "")
						}
						return h.do(idp, http.MethodPatch, "/Groups/"+gid, patchBody(`{"op":"remove","path":"members[value eq \"`+uid+`\"]"}`))
					}

					restore := h.failingStep(step)
					if r := send(); r.Status < 500 {
						t.Fatalf("%s with a failing %s step: status %d", write, step, r.Status)
					}
					g := h.must(h.do(idp, http.MethodGet, "/Groups/"+gid, ""), http.StatusOK)
					if members, _ := g.Body["members"].([]any); len(members) != 1 {
						t.Errorf("half-done group write: members %v", g.Body["members"])
					}
					restore()

					want := http.StatusOK
					if write == "DELETE" {
						want = http.StatusNoContent
					}
					h.must(send(), want)
					if idp == "okta" {
						if got := h.registryUser("alice@example.com").SCIMGroups[idp]; len(got) != 0 {
							t.Errorf("after the retry the registry user still has groups %v", got)
						}
					} else if !h.sessionRevoked("sess-1") {
						t.Error("after the retry the session is still valid")
					}
				})
			}
		}
	}
}

func userBodyActive(userName, externalID string, active bool) string {
	a := "false"
	if active {
		a = "true"
	}
	return `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"` + userName + `","externalId":"` + externalID +
		`","name":{"givenName":"Given","familyName":"Family"},"emails":[{"primary":true,"value":"` + userName + `","type":"work"}],"active":` + a + `}`
}
