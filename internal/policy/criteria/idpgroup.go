package criteria

import (
	"errors"
	"strings"

	"github.com/gatehouse/gatehouse/internal/identity"
)

// IdP group fields: which part of an identity.Group an IdP-group selector compares.
const (
	GroupByName  = "name"  // okta
	GroupByID    = "id"    // azureAD
	GroupByEmail = "email" // gsuite
)

// ErrIdPGroup is returned for an IdP-group selector without a value.
var ErrIdPGroup = errors.New("the group is required")

// IdPGroup returns an IdP-group selector (okta, azureAD, gsuite): the login's identity has a
// group whose field (GroupByName, GroupByID or GroupByEmail) equals value. Names and e-mail
// addresses compare case-insensitively, IDs exactly; an azureAD ID also matches a group whose
// name is that value (IdPs that send group names in the groups claim). When idpID is set, the
// user logged in with that identity provider.
func IdPGroup(field, value, idpID string) (Criterion, error) {
	if strings.TrimSpace(value) == "" {
		return Criterion{}, ErrIdPGroup
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
			if g.Email != "" && strings.EqualFold(g.Email, value) || g.Email == "" && strings.EqualFold(g.Name, value) {
				return true
			}
		}
	}
	return false
}
