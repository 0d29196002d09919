package criteria

import (
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/mailaddr"
)

// IdP group fields: which part of an identity.Group an IdP-group selector compares.
const (
	GroupByName  = "name"  // okta
	GroupByID    = "id"    // azureAD
	GroupByEmail = "email" // gsuite
)

// groupByEmailName is how a gsuite value that is not an e-mail address compares: with the names
// of groups the IdP sends without an address.
const groupByEmailName = "email-name"

// ErrIdPGroup is returned for an IdP-group selector without a value.
var ErrIdPGroup = errors.New("the group is required")

// IdPGroup returns an IdP-group selector (okta, azureAD, gsuite): the login's identity has a
// group whose field (GroupByName, GroupByID or GroupByEmail) equals value. Names compare
// case-insensitively and IDs exactly; an azureAD ID also matches a group whose name is that value
// (IdPs that send group names in the groups claim). A gsuite value that is an e-mail address
// compares as the normal forms of package mailaddr do, with the group's address or, when the IdP
// sends none, its name; any other gsuite value compares with the names of groups sent without an
// address, folding ASCII letters only. When idpID is set, the user logged in with that identity
// provider.
func IdPGroup(field, value, idpID string) (Criterion, error) {
	if strings.TrimSpace(value) == "" {
		return Criterion{}, ErrIdPGroup
	}
	if field == GroupByEmail {
		// A value with an '@' is meant as an address, and must be one; any other is a name.
		e, err := mailaddr.Normalize(value)
		switch {
		case err == nil:
			value = e
		case strings.Contains(value, "@"):
			return Criterion{}, err
		default:
			field = groupByEmailName
		}
	}
	return Criterion{kind: KindIdPGroup, value: value, ext: &extension{name: field, idp: idpID}}, nil
}

func matchIdPGroup(id *identity.Identity, field, value, idp string) bool {
	if idp != "" && id.IdP.ID != idp {
		return false
	}
	for i := range id.Groups {
		g := &id.Groups[i]
		switch field {
		case GroupByName:
			if strings.EqualFold(g.Name, value) {
				return true
			}
		case GroupByID:
			if g.ID == value || (g.ID == "" && g.Name == value) {
				return true
			}
		case GroupByEmail:
			if g.Email != "" && groupEmailIs(g.Email, value) || g.Email == "" && groupEmailIs(g.Name, value) {
				return true
			}
		case groupByEmailName:
			if g.Email == "" && equalFoldASCII(g.Name, value) {
				return true
			}
		}
	}
	return false
}

// groupEmailIs reports whether got, a group address as the IdP sent it, has the normal form want.
// An ASCII address has the normal form want exactly when it equals want up to ASCII letter case
// (validity does not depend on case), which settles the usual case without allocating.
func groupEmailIs(got, want string) bool {
	if len(got) == len(want) && equalFoldASCII(got, want) {
		return true
	}
	for i := 0; i < len(got); i++ {
		if got[i] >= utf8.RuneSelf {
			n, err := mailaddr.Normalize(got)
			return err == nil && n == want
		}
	}
	return false
}

// equalFoldASCII reports whether a and b are equal when ASCII letters A-Z are folded to a-z;
// every other byte compares exactly.
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
