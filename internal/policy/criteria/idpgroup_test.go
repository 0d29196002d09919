package criteria

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/identity"
)

func TestIdPGroup(t *testing.T) {
	id := &identity.Identity{IdP: identity.IdP{ID: "okta"}, Groups: []identity.Group{
		{ID: "00g1abc", Name: "Engineering"},
		{Name: "sre"},
		{Email: "ops@example.com", Name: "Ops"},
	}}
	cases := []struct {
		by, value, idp string
		want           bool
	}{
		{GroupByName, "engineering", "", true},
		{GroupByName, "Engineering", "okta", true},
		{GroupByName, "Engineering", "entra", false}, // another IdP's login
		{GroupByName, "Eng", "", false},              // no partial match
		{GroupByID, "00g1abc", "", true},
		{GroupByID, "00G1ABC", "", false}, // IDs are exact
		{GroupByID, "sre", "", true},      // IdPs that send names in the groups claim
		{GroupByEmail, "OPS@example.com", "", true},
		{GroupByEmail, "sre", "", true},
		{GroupByEmail, "dev@example.com", "", false},
	}
	for _, c := range cases {
		cr, err := IdPGroup(c.by, c.value, c.idp)
		if err != nil {
			t.Fatal(err)
		}
		if got := cr.Eval(&Request{Identity: id}) == True; got != c.want {
			t.Errorf("%s %q idp %q = %v, want %v", c.by, c.value, c.idp, got, c.want)
		}
		if got := cr.Eval(&Request{}); got != False {
			t.Errorf("without a login: %v", got)
		}
	}
	if _, err := IdPGroup(GroupByName, " ", ""); err == nil {
		t.Error("empty group accepted")
	}
}
