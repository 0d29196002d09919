package criteria

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/mailaddr"
	"github.com/gatehouse/gatehouse/internal/mailaddr/mailaddrtest"
)

// TestEmailSelectorsNeverAdmitLookAlikes: for every look-alike of an ASCII letter (Unicode case
// mappings, compatibility forms, confusables), in the local part or the domain, a policy naming
// the ASCII address or its domain (email, email_domain, email_list, gsuite) never admits the
// look-alike: neither as the normal form a login would carry, nor as the raw string, should an
// address ever reach a policy unnormalised.
func TestEmailSelectorsNeverAdmitLookAlikes(t *testing.T) {
	for _, v := range mailaddrtest.Variants() {
		ascii, err := mailaddr.Normalize(v.ASCII)
		if err != nil {
			t.Fatal(err)
		}
		list := EmailSet{}
		if err := list.Add(v.ASCII); err != nil {
			t.Fatal(err)
		}
		selectors := map[string]Criterion{
			"email":      must(Email(v.ASCII)),
			"email_list": EmailList(list),
			"gsuite":     must(IdPGroup(GroupByEmail, v.ASCII, "")),
		}
		if strings.HasPrefix(v.Where, "domain") { // a look-alike in the local part has the same domain
			selectors["email_domain"] = must(EmailDomain(mailaddr.DomainOf(ascii)))
		}
		// Sanity: the ASCII address itself is admitted.
		asciiReq := &Request{Identity: &identity.Identity{Email: ascii, Groups: []identity.Group{{Email: v.ASCII}}}}
		for name, c := range selectors {
			if c.Eval(asciiReq) != True {
				t.Fatalf("%s %q does not admit itself", name, v.ASCII)
			}
		}
		spoofs := []string{v.Spoof}
		if n, err := mailaddr.Normalize(v.Spoof); err == nil {
			spoofs = append(spoofs, n)
		}
		for _, spoof := range spoofs {
			r := &Request{Identity: &identity.Identity{Email: spoof, Groups: []identity.Group{{Email: spoof}, {Name: spoof}}}}
			for name, c := range selectors {
				if got := c.Eval(r); got != False {
					t.Errorf("%s %q admits %+q (%U %s %q, %s): %v", name, v.ASCII, spoof, v.Rune, v.Why, v.LookAlike.ASCII, v.Where, got)
				}
			}
		}
	}
}
