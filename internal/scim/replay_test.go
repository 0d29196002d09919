package scim_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

// TestOktaReplay replays the requests Okta sends, as shown in Okta's developer documentation
// "SCIM 2.0 protocol reference" (developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20)
// and "Build a SCIM provisioning integration > Test your SCIM API": look up by userName, create,
// read, update (PUT), push a group and change its membership by PATCH, deactivate by PATCH
// active=false. The IdP is configured with identity_update_behavior automatic.
func TestOktaReplay(t *testing.T) {
	h := newHarness(t)
	h.login("test.user@okta.local", "okta", "sess-okta")

	// Create Users: Okta first checks whether the user exists.
	r := h.must(h.do("okta", http.MethodGet, "/Users?filter="+url.QueryEscape(`userName eq "test.user@okta.local"`)+"&startIndex=1&count=100", ""), http.StatusOK)
	if r.Body["totalResults"] != float64(0) {
		t.Fatalf("lookup before create: %s", r.Raw)
	}
	r = h.must(h.do("okta", http.MethodPost, "/Users", `{
	  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
	  "userName": "test.user@okta.local",
	  "name": {"givenName": "Test", "familyName": "User"},
	  "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
	  "displayName": "Test User",
	  "locale": "en-US",
	  "externalId": "00ujl29u0le5T6Aj10h7",
	  "groups": [],
	  "password": "1mz050nq",
	  "active": true
	}`), http.StatusCreated)
	uid := r.str("id")
	if strings.Contains(r.Raw, "1mz050nq") {
		t.Errorf("the password is stored or echoed")
	}
	h.must(h.do("okta", http.MethodGet, "/Users/"+uid, ""), http.StatusOK)

	// Update User Attributes: Okta sends the whole user with PUT.
	r = h.must(h.do("okta", http.MethodPut, "/Users/"+uid, `{
	  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
	  "id": "`+uid+`",
	  "userName": "test.user@okta.local",
	  "name": {"givenName": "Another", "familyName": "User"},
	  "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
	  "displayName": "Another User",
	  "locale": "en-US",
	  "externalId": "00ujl29u0le5T6Aj10h7",
	  "groups": [],
	  "active": true
	}`), http.StatusOK)
	if r.str("displayName") != "Another User" {
		t.Errorf("PUT: %s", r.Raw)
	}

	// Push Groups: create the group, then membership by PATCH.
	r = h.must(h.do("okta", http.MethodPost, "/Groups", `{
	  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
	  "displayName": "Test SCIMv2",
	  "members": []
	}`), http.StatusCreated)
	gid := r.str("id")
	h.must(h.do("okta", http.MethodGet, "/Groups?filter="+url.QueryEscape(`displayName eq "Test SCIMv2"`)+"&startIndex=1&count=100", ""), http.StatusOK)
	h.must(h.do("okta", http.MethodPatch, "/Groups/"+gid, patchBody(`{"op":"replace","value":{"id":"`+gid+`","displayName":"Test SCIMv2"}}`)), http.StatusOK)
	r = h.must(h.do("okta", http.MethodPatch, "/Groups/"+gid, patchBody(`{"op":"add","path":"members","value":[{"value":"`+uid+`","display":"test.user@okta.local"}]}`)), http.StatusOK)
	if members, _ := r.Body["members"].([]any); len(members) != 1 {
		t.Fatalf("members after add: %s", r.Raw)
	}
	if got := h.registryUser("test.user@okta.local").SCIMGroups["okta"]; !slices.Equal(got, []string{"Test SCIMv2"}) {
		t.Errorf("registry SCIM groups %v, want [Test SCIMv2] (automatic)", got)
	}
	r = h.must(h.do("okta", http.MethodGet, "/Users/"+uid, ""), http.StatusOK)
	if gs, _ := r.Body["groups"].([]any); len(gs) != 1 || gs[0].(map[string]any)["value"] != gid {
		t.Errorf("user groups: %s", r.Raw)
	}
	// Okta renames the group.
	h.must(h.do("okta", http.MethodPatch, "/Groups/"+gid, patchBody(`{"op":"replace","value":{"id":"`+gid+`","displayName":"Renamed"}}`)), http.StatusOK)
	if h.sessionRevoked("sess-okta") {
		t.Errorf("automatic behaviour revoked sessions on a group change")
	}
	h.must(h.do("okta", http.MethodPatch, "/Groups/"+gid, patchBody(`{"op":"remove","path":"members[value eq \"`+uid+`\"]"}`)), http.StatusOK)
	if got := h.registryUser("test.user@okta.local").SCIMGroups["okta"]; len(got) != 0 {
		t.Errorf("registry SCIM groups after removal %v", got)
	}

	// Deactivate Users.
	h.must(h.do("okta", http.MethodPatch, "/Users/"+uid, patchBody(`{"op":"replace","value":{"active":false}}`)), http.StatusOK)
	if !h.sessionRevoked("sess-okta") || h.registryUser("test.user@okta.local").Status != store.UserInactive {
		t.Fatalf("deactivation did not deprovision")
	}
	h.must(h.do("okta", http.MethodDelete, "/Groups/"+gid, ""), http.StatusNoContent)
	h.scimError(h.do("okta", http.MethodGet, "/Groups/"+gid, ""), http.StatusNotFound, "")
}

// TestEntraReplay replays the requests Microsoft Entra ID sends, as shown in Microsoft Learn
// "Tutorial: Develop and plan provisioning for a SCIM endpoint in Microsoft Entra ID" (section
// "User operations" / "Group operations") and "Known issues and resolutions with SCIM 2.0
// protocol compliance": string booleans, capitalised op names, value-path filters, member
// removal by value list. The IdP is configured with identity_update_behavior reauth.
func TestEntraReplay(t *testing.T) {
	h := newHarness(t)
	h.login("test_user_dfeef4c5@testuser.com", "entra", "sess-1")

	h.must(h.do("entra", http.MethodGet, "/Users?filter="+url.QueryEscape(`userName eq "Test_User_dfeef4c5-5681-4387-b016-bdf221e82081"`), ""), http.StatusOK)
	r := h.must(h.do("entra", http.MethodPost, "/Users", `{
	  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
	  "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
	  "userName": "Test_User_dfeef4c5@testuser.com",
	  "active": true,
	  "emails": [{"primary": true, "type": "work", "value": "Test_User_dfeef4c5@testuser.com"}],
	  "meta": {"resourceType": "User"},
	  "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
	  "roles": []
	}`), http.StatusCreated)
	uid := r.str("id")
	if c := h.lastChange(); !slices.Contains(c.Effects, "linked") {
		t.Errorf("effects %v, want linked", c.Effects)
	}
	h.must(h.do("entra", http.MethodGet, "/Users?filter="+url.QueryEscape(`userName eq "Test_User_dfeef4c5@testuser.com"`), ""), http.StatusOK)
	r = h.must(h.do("entra", http.MethodPatch, "/Users/"+uid, patchBody(`
	  {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"},
	  {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}`)), http.StatusOK)
	if !strings.Contains(r.Raw, "updatedEmail@microsoft.com") || !strings.Contains(r.Raw, "updatedFamilyName") {
		t.Errorf("PATCH: %s", r.Raw)
	}

	// Group operations.
	r = h.must(h.do("entra", http.MethodPost, "/Groups", `{
	  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/Group"],
	  "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
	  "displayName": "displayName",
	  "meta": {"resourceType": "Group"}
	}`), http.StatusCreated)
	gid := r.str("id")
	r = h.must(h.do("entra", http.MethodGet, "/Groups?excludedAttributes=members&filter="+url.QueryEscape(`displayName eq "displayName"`), ""), http.StatusOK)
	if r.Body["totalResults"] != float64(1) || strings.Contains(r.Raw, `"members"`) {
		t.Errorf("group lookup: %s", r.Raw)
	}
	before := h.revocations()
	h.must(h.do("entra", http.MethodPatch, "/Groups/"+gid, patchBody(`{"op": "Add", "path": "members", "value": [{"$ref": null, "value": "`+uid+`"}]}`)), http.StatusOK)
	if !h.sessionRevoked("sess-1") || h.revocations() != before+1 {
		t.Fatalf("reauth: adding a member did not revoke the user's sessions")
	}
	h.advance(2e9)
	h.login("test_user_dfeef4c5@testuser.com", "entra", "sess-2")
	h.must(h.do("entra", http.MethodPatch, "/Groups/"+gid, patchBody(`{"op": "Replace", "path": "displayName", "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"}`)), http.StatusOK)
	if h.sessionRevoked("sess-2") {
		t.Errorf("a rename without membership change revoked sessions")
	}
	h.must(h.do("entra", http.MethodPatch, "/Groups/"+gid, patchBody(`{"op": "Remove", "path": "members", "value": [{"value": "`+uid+`"}]}`)), http.StatusOK)
	if !h.sessionRevoked("sess-2") {
		t.Fatalf("reauth: removing a member did not revoke the user's sessions")
	}
	// Unknown members are invalid values, not silent no-ops.
	h.scimError(h.do("entra", http.MethodPatch, "/Groups/"+gid, patchBody(`{"op": "Add", "path": "members", "value": [{"value": "no-such-user"}]}`)), http.StatusBadRequest, "invalidValue")

	// Disable with a string boolean, then delete.
	h.advance(2e9)
	h.login("test_user_dfeef4c5@testuser.com", "entra", "sess-3")
	r = h.must(h.do("entra", http.MethodPatch, "/Users/"+uid, patchBody(`{"op": "Replace", "path": "active", "value": "False"}`)), http.StatusOK)
	if r.Body["active"] != false || !h.sessionRevoked("sess-3") || h.registryUser("test_user_dfeef4c5@testuser.com").Status != store.UserInactive {
		t.Fatalf("disable: %s", r.Raw)
	}
	h.must(h.do("entra", http.MethodDelete, "/Users/"+uid, ""), http.StatusNoContent)
	h.scimError(h.do("entra", http.MethodGet, "/Users/"+uid, ""), http.StatusNotFound, "")
	h.must(h.do("entra", http.MethodDelete, "/Groups/"+gid, ""), http.StatusNoContent)
}
