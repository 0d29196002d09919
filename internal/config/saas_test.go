package config

import (
	"os"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/saas/oidcop"
	"github.com/gatehouse/gatehouse/internal/saas/samlidp"
	"github.com/gatehouse/gatehouse/internal/store"
)

// TestMain registers the SaaS protocols as the composition root does at start (package app), so
// the tests validate saas applications the way the binary does.
func TestMain(m *testing.M) {
	RegisterSaaSAuthType(store.SaaSAuthSAML, samlidp.ValidateApp)
	RegisterSaaSAuthType(store.SaaSAuthOIDC, oidcop.ValidateApp)
	os.Exit(m.Run())
}

// TestUnregisteredSaaSAuthTypeIsRefused: an auth_type no protocol registered fails validation
// and names the registered ones.
func TestUnregisteredSaaSAuthTypeIsRefused(t *testing.T) {
	c := &checker{}
	c.saasApp("applications[0].saas_app", &store.SaaSApp{AuthType: "wsfed"})
	if len(c.issues) != 1 || c.issues[0].path != "applications[0].saas_app.auth_type" || !strings.Contains(c.issues[0].msg, "must be oidc or saml") {
		t.Fatalf("problems: %+v", c.issues)
	}
}
