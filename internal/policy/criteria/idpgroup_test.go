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
		{GroupByEmail, "SRE", "", true},       // not an address: a name, ASCII case folded
		{GroupByEmail, "\u017fre", "", false}, // ſre: no Unicode folding
		{GroupByName, "Ops", "", true},
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
	// A gsuite value with an '@' is an address and must have a normal form.
	if _, err := IdPGroup(GroupByEmail, "\u212Aops@example.com", ""); err == nil {
		t.Error("gsuite address with KELVIN SIGN accepted")
	}
	// Groups the IdP sends with look-alike addresses or names never match an ASCII address.
	cr, err := IdPGroup(GroupByEmail, "kops@example.com", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []identity.Group{{Email: "\u212Aops@example.com"}, {Name: "\u212Aops@example.com"}, {Name: "KOPS@EXAMPLE.COM"}} {
		want := g.Name == "KOPS@EXAMPLE.COM"
		if got := cr.Eval(&Request{Identity: &identity.Identity{Groups: []identity.Group{g}}}) == True; got != want {
			t.Errorf("gsuite kops@example.com with group %+v = %v, want %v", g, got, want)
		}
	}
}
