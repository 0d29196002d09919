package app_test

import (
	"net/url"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

func storeQueryEmail(email string) store.AuthEventQuery { return store.AuthEventQuery{Email: email} }

func storeChangeRevocations() store.Change { return store.Change{Revocations: true} }

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// setIssuer points an OIDC identity provider at issuer through the store, as an administrator's
// change would, and waits for the new configuration to be in service.
func setIssuer(t *testing.T, e *testenv.Env, idpID, issuer string) {
	t.Helper()
	_, err := e.G.Store.UpdateConfig(t.Context(), func(c *store.Config) error {
		for i := range c.IdentityProviders {
			if c.IdentityProviders[i].ID == idpID {
				c.IdentityProviders[i].Config["issuer"] = issuer
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e.G.Reload(t.Context(), store.Change{Config: true})
}
