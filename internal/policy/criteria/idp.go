package criteria

import (
	"errors"
	"slices"

	"github.com/gatehouse/gatehouse/internal/identity"
)

// LoginMethod returns the login_method selector: the user logged in with identity provider
// idpID. The caller checks that the IdP exists.
func LoginMethod(idpID string) (Criterion, error) {
	if idpID == "" {
		return Criterion{}, errors.New("identity provider id is required")
	}
	return Criterion{kind: KindLoginMethod, value: idpID}, nil
}

// AuthMethod returns the auth_method selector: the identity's AMR values (RFC 8176) contain amr.
func AuthMethod(amr string) (Criterion, error) {
	if amr == "" {
		return Criterion{}, errors.New("auth_method is required")
	}
	return Criterion{kind: KindAuthMethod, value: amr}, nil
}

// SAML returns the saml selector: some value of attribute name equals value exactly and, when
// idpID is set, the user logged in with that identity provider.
func SAML(name, value, idpID string) (Criterion, error) {
	return attribute(KindSAML, name, value, idpID)
}

// OIDC returns the oidc selector: some value of claim name equals value exactly and, when idpID
// is set, the user logged in with that identity provider.
func OIDC(name, value, idpID string) (Criterion, error) {
	return attribute(KindOIDC, name, value, idpID)
}

func attribute(k Kind, name, value, idpID string) (Criterion, error) {
	if name == "" {
		return Criterion{}, errors.New("name is required")
	}
	if value == "" {
		return Criterion{}, errors.New("value is required")
	}
	return Criterion{kind: k, value: value, ext: &extension{name: name, idp: idpID}}, nil
}

func matchAttribute(id *identity.Identity, m map[string][]string, idp, name, value string) bool {
	if idp != "" && id.IdP.ID != idp {
		return false
	}
	return slices.Contains(m[name], value)
}
