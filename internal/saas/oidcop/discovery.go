package oidcop

import (
	"encoding/json"
	"net/http"
	"slices"
)

// discovery is the OpenID Provider metadata; it advertises exactly what is implemented.
type discovery struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	UserinfoEndpoint                  string   `json:"userinfo_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
	ClaimsSupported                   []string `json:"claims_supported"`
	AuthorizationResponseISSSupported bool     `json:"authorization_response_iss_parameter_supported"`
	RequestParameterSupported         bool     `json:"request_parameter_supported"`
	RequestURIParameterSupported      bool     `json:"request_uri_parameter_supported"`
	ClaimsParameterSupported          bool     `json:"claims_parameter_supported"`
}

func (p *Provider) serveDiscovery(w http.ResponseWriter, ep *endpoint) {
	cfg := ep.cfg
	d := discovery{
		Issuer:                            ep.issuer,
		AuthorizationEndpoint:             ep.issuer + "/" + pathAuthorization,
		TokenEndpoint:                     ep.issuer + "/" + pathToken,
		UserinfoEndpoint:                  ep.issuer + "/" + pathUserinfo,
		JWKSURI:                           ep.issuer + "/" + pathJWKS,
		ResponseTypesSupported:            []string{"code"},
		ResponseModesSupported:            []string{"query"},
		GrantTypesSupported:               []string{"authorization_code"},
		SubjectTypesSupported:             []string{"public"},
		IDTokenSigningAlgValuesSupported:  []string{"RS256"},
		TokenEndpointAuthMethodsSupported: []string{},
		CodeChallengeMethodsSupported:     []string{"S256"},
		ScopesSupported:                   supportedScopes(cfg),
		ClaimsSupported: []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "amr",
			"email", "email_verified", "name", "custom", "groups"},
		AuthorizationResponseISSSupported: true,
	}
	if refreshEnabled(cfg) {
		d.GrantTypesSupported = append(d.GrantTypesSupported, "refresh_token")
	}
	if hasSecret(cfg) {
		d.TokenEndpointAuthMethodsSupported = append(d.TokenEndpointAuthMethodsSupported, "client_secret_basic", "client_secret_post")
	}
	if cfg.AllowPKCEWithoutClientSecret {
		d.TokenEndpointAuthMethodsSupported = append(d.TokenEndpointAuthMethodsSupported, "none")
	}
	for _, cc := range cfg.CustomClaims {
		if cc.Name != "" && !reservedClaims[cc.Name] && !slices.Contains(d.ClaimsSupported, cc.Name) {
			d.ClaimsSupported = append(d.ClaimsSupported, cc.Name)
		}
	}
	writeJSON(w, http.StatusOK, d, "public, max-age=300")
}

// jwksCache is the JWK set extracted from one certs document.
type jwksCache struct {
	certs []byte
	jwks  []byte
}

// serveJWKS answers the "keys" of keys.Manager's certs document: the current key and the
// rotated-out keys still in their overlap window.
func (p *Provider) serveJWKS(w http.ResponseWriter, r *http.Request) {
	var certs []byte
	if p.env.Keys != nil {
		certs = p.env.Keys.CertsJSON()
	}
	if len(certs) == 0 {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "temporarily_unavailable"}, "no-store")
		return
	}
	c := p.jwks.Load()
	// The certs document is rebuilt (a new slice) on every key change.
	if c == nil || len(c.certs) != len(certs) || &c.certs[0] != &certs[0] {
		var doc struct {
			Keys json.RawMessage `json:"keys"`
		}
		if err := json.Unmarshal(certs, &doc); err != nil || len(doc.Keys) == 0 {
			p.log.ErrorContext(r.Context(), "certs document has no keys", "err", err)
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"}, "no-store")
			return
		}
		out, _ := json.Marshal(struct {
			Keys json.RawMessage `json:"keys"`
		}{doc.Keys})
		c = &jwksCache{certs: certs, jwks: out}
		p.jwks.Store(c)
	}
	w.Header().Set("Content-Type", "application/json")
	// Relying parties re-fetch on an unknown kid; a short cache keeps rotations visible.
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(c.jwks)
}

// writeJSON writes v as a JSON response with the given Cache-Control.
func writeJSON(w http.ResponseWriter, status int, v any, cacheControl string) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", cacheControl)
	if cacheControl == "no-store" {
		h.Set("Pragma", "no-cache")
	}
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
