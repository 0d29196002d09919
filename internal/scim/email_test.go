package scim_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

// TestLookAlikeEmailsNeverLink: provisioning links a SCIM user to the registry user of the same
// e-mail normal form only. A look-alike of a linked user's address is refused (emails) or not used
// as an address at all (userName), so that deprovisioning the look-alike never touches the user
// it imitates.
func TestLookAlikeEmailsNeverLink(t *testing.T) {
	h := newHarness(t)
	kate := h.login("kate@example.com", "okta", "sess-kate")
	for _, spoof := range []string{`\u212aate@example.com`, `kate\u200b@example.com`, `k\u0430te@example.com`, `kate@ex\u0430mple.com`} {
		h.scimError(h.do("okta", http.MethodPost, "/Users", userBody(spoof, "00uspoof")), http.StatusBadRequest, "invalidValue")
		// The same address as userName only: stored, never linked.
		r := h.must(h.do("okta", http.MethodPost, "/Users", `{"userName":"`+spoof+`","externalId":"00uspoof","active":true}`), http.StatusCreated)
		if c := h.lastChange(); slices.Contains(c.Effects, "linked") || c.UserEmail != "" {
			t.Errorf("%s: effects %v, e-mail %q: a look-alike userName was used as an address", spoof, c.Effects, c.UserEmail)
		}
		h.must(h.do("okta", http.MethodDelete, "/Users/"+r.str("id"), ""), http.StatusNoContent)
	}
	if h.sessionRevoked("sess-kate") || h.registryUser("kate@example.com").Status != store.UserActive {
		t.Fatal("a look-alike's deprovisioning reached kate")
	}

	// Upper case and blanks around the address are the same address: linked.
	r := h.must(h.do("okta", http.MethodPost, "/Users", `{"userName":"kate","emails":[{"primary":true,"value":" KATE@Example.COM "}],"active":true}`), http.StatusCreated)
	if c := h.lastChange(); !slices.Contains(c.Effects, "linked") || c.UserEmail != "kate@example.com" {
		t.Errorf("effects %v, e-mail %q; want kate linked", c.Effects, c.UserEmail)
	}
	h.must(h.do("okta", http.MethodPatch, "/Users/"+r.str("id"), patchBody(`{"op":"replace","value":{"active":false}}`)), http.StatusOK)
	if !h.sessionRevoked("sess-kate") || h.registryUser("kate@example.com").ID != kate.ID {
		t.Error("kate's own deprovisioning did not reach her")
	}
}
