package oidc

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/mailaddr"
)

// buildIdentity turns the verified ID token claims (and the UserInfo claims, when fetched) into
// an identity. A claim is read from the ID token first, then from UserInfo.
func (c *Connector) buildIdentity(idClaims, userinfo map[string]any) (*identity.Identity, error) {
	lookup := func(name string) (any, bool) {
		if v, ok := idClaims[name]; ok && v != nil {
			return v, true
		}
		v, ok := userinfo[name]
		return v, ok && v != nil
	}

	// An address the provider says it has not verified is never used, wherever it came from.
	for _, m := range []map[string]any{idClaims, userinfo} {
		if v, present := m["email_verified"]; present && !isTrue(v) {
			return nil, identity.Failf(reasonEmailUnverified, "email_verified is %v", shortValue(v))
		}
	}
	raw, ok := lookup(c.cfg.EmailClaimName)
	if !ok {
		return nil, identity.Failf(reasonEmailMissing, "no %q claim in the ID token or UserInfo", c.cfg.EmailClaimName)
	}
	email, err := parseEmail(raw)
	if err != nil {
		return nil, identity.Fail(reasonEmailInvalid, err)
	}

	id := &identity.Identity{
		Email: email,
		IdP:   identity.IdP{ID: c.id, Type: c.typ},
	}
	if v, ok := lookup("name"); ok {
		id.Name, _ = v.(string)
	}
	if v, ok := lookup(groupsClaim(idClaims, userinfo)); ok {
		for _, g := range flatten(v) {
			id.Groups = append(id.Groups, identity.Group{Name: g})
		}
	}
	if v, ok := lookup("amr"); ok {
		id.AMR = flatten(v)
	}
	for _, name := range c.cfg.Claims {
		v, ok := lookup(name)
		if !ok {
			continue
		}
		if vs := flatten(v); len(vs) > 0 {
			if id.OIDCClaims == nil {
				id.OIDCClaims = make(map[string][]string, len(c.cfg.Claims))
			}
			id.OIDCClaims[name] = vs
		}
	}
	return id, nil
}

// parseEmail returns the normal form (package mailaddr) of the e-mail claim, which must be a bare
// addr-spec (no display name, no surrounding text). An address without a normal form, such as one
// with a look-alike or invisible character, is refused rather than mapped onto another user's.
func parseEmail(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", errString("the e-mail claim is not a string")
	}
	return mailaddr.Normalize(s)
}

type errString string

func (e errString) Error() string { return string(e) }

// groupsClaim returns the name of the groups claim: "groups" matched case-insensitively, the
// exact spelling first, then the ID token's other spellings in order, then UserInfo's.
func groupsClaim(maps ...map[string]any) string {
	for _, m := range maps {
		if _, ok := m["groups"]; ok {
			return "groups"
		}
	}
	for _, m := range maps {
		var names []string
		for k := range m {
			if strings.EqualFold(k, "groups") {
				names = append(names, k)
			}
		}
		if len(names) > 0 {
			slices.Sort(names)
			return names[0]
		}
	}
	return "groups"
}

// isTrue reports whether an email_verified value says "verified": JSON true or the string
// "true" (some providers send strings). Anything else is false.
func isTrue(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return strings.EqualFold(v, "true")
	}
	return false
}

// flatten returns the values of a claim as strings, one per value: a list gives its elements,
// a scalar itself; numbers keep their JSON spelling; objects and nested lists are JSON-encoded;
// nulls are dropped.
func flatten(v any) []string {
	if list, ok := v.([]any); ok {
		out := make([]string, 0, len(list))
		for _, e := range list {
			if s, ok := scalarString(e); ok {
				out = append(out, s)
			}
		}
		return out
	}
	if s, ok := scalarString(v); ok {
		return []string{s}
	}
	return nil
}

func scalarString(v any) (string, bool) {
	switch v := v.(type) {
	case nil:
		return "", false
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case bool:
		return strconv.FormatBool(v), true
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", false
	}
	return string(b), true
}

func shortValue(v any) string {
	s, _ := scalarString(v)
	return short(s)
}
