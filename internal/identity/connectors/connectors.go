// Package connectors owns the registry of identity provider types: for each type, how its
// configuration is validated and how a connector is built. Package config validates through it
// and package app builds connectors through it; adding a login method means one entry here.
package connectors

import (
	"fmt"
	"sort"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/identity/github"
	"github.com/gatehouse/gatehouse/internal/identity/google"
	"github.com/gatehouse/gatehouse/internal/identity/oidc"
	"github.com/gatehouse/gatehouse/internal/identity/onetimepin"
	"github.com/gatehouse/gatehouse/internal/identity/saml"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Kind is one identity provider type.
type Kind struct {
	// Validate checks the type-specific config.
	Validate func(raw map[string]any) error
	// New builds the connector; nil for types that authn drives itself (onetimepin).
	New func(idp store.IdentityProvider, env identity.Env) (identity.Connector, error)
}

var kinds = map[string]Kind{
	store.IdPOneTimePIN: {Validate: func(raw map[string]any) error { _, err := onetimepin.ParseConfig(raw); return err }},
	store.IdPSAML: {
		Validate: func(raw map[string]any) error { _, err := saml.ParseConfig(raw); return err },
		New:      build(saml.New),
	},
	store.IdPOIDC: {
		Validate: func(raw map[string]any) error { _, err := oidc.ParseConfig(raw); return err },
		New:      build(oidc.New),
	},
	store.IdPGoogle: {
		Validate: func(raw map[string]any) error { _, err := google.ParseConfig(raw); return err },
		New:      build(google.New),
	},
	store.IdPGitHub: {
		Validate: func(raw map[string]any) error { _, err := github.ParseConfig(raw); return err },
		New:      build(github.New),
	},
}

// build adapts a typed constructor, so that a failed build returns a nil interface rather than
// an interface holding a nil pointer.
func build[C identity.Connector](newC func(store.IdentityProvider, identity.Env) (C, error)) func(store.IdentityProvider, identity.Env) (identity.Connector, error) {
	return func(idp store.IdentityProvider, env identity.Env) (identity.Connector, error) {
		c, err := newC(idp, env)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
}

// Types returns the implemented type names, sorted.
func Types() []string {
	var out []string
	for k := range kinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Implemented reports whether typ is an implemented identity provider type.
func Implemented(typ string) bool { _, ok := kinds[typ]; return ok }

// Validate checks an identity provider's type-specific configuration.
func Validate(idp store.IdentityProvider) error {
	k, ok := kinds[idp.Type]
	if !ok {
		return fmt.Errorf("identity provider type %q is not implemented (implemented: %v)", idp.Type, Types())
	}
	return k.Validate(idp.Config)
}

// New builds the connector of an identity provider; it returns (nil, nil) for types authn drives
// itself.
func New(idp store.IdentityProvider, env identity.Env) (identity.Connector, error) {
	k, ok := kinds[idp.Type]
	if !ok {
		return nil, fmt.Errorf("identity provider type %q is not implemented", idp.Type)
	}
	if k.New == nil {
		return nil, nil
	}
	env.ID = idp.ID
	return k.New(idp, env)
}
