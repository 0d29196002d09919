package session

import (
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/store"
)

func TestMergeSCIMGroups(t *testing.T) {
	user := &store.User{SCIMGroups: map[string][]string{"okta": {"eng", "ops"}, "entra": {"admins"}}}
	ident := &identity.Identity{IdP: identity.IdP{ID: "okta"}, Groups: []identity.Group{{ID: "eng", Name: "eng"}}}
	MergeSCIMGroups(ident, user)
	var names []string
	for _, g := range ident.Groups {
		names = append(names, g.Name)
	}
	if !slices.Equal(names, []string{"eng", "ops"}) {
		t.Errorf("groups %v, want [eng ops] (okta's only, no duplicates)", names)
	}
	pin := &identity.Identity{IdP: identity.IdP{ID: "pin"}}
	MergeSCIMGroups(pin, user)
	if len(pin.Groups) != 0 {
		t.Errorf("a login through another IdP got SCIM groups %v", pin.Groups)
	}
}
