package identity

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

// A connector is one configured identity provider that logs users in. Connectors implement the
// small capability interfaces below; package authn finds them by type assertion.

// Connector is implemented by every connector.
type Connector interface {
	// Type returns the identity provider type ("oidc", "saml", "github", "google", ...).
	Type() string
}

// LoginRequest describes a login the auth domain is starting.
type LoginRequest struct {
	// State is an unguessable value naming the login flow. The IdP must send it back unchanged
	// (OAuth `state`, SAML `RelayState`); authn uses it to find the flow on the callback.
	State string
	// CallbackURL is where the IdP returns the browser: <auth domain><prefix>callback.
	CallbackURL string
	// SPEntityID is Gatehouse's SAML entity ID for this IdP (the SP metadata URL).
	SPEntityID string
	// ForceAuthn asks the IdP to authenticate the user anew rather than reuse its own session
	// (OIDC prompt=login and max_age=0, SAML ForceAuthn), because a relying party asked Gatehouse
	// for a fresh login. Connectors that can check it (an OIDC auth_time, a SAML AuthnInstant)
	// refuse an answer whose authentication predates the request.
	ForceAuthn bool
}

// LoginStart says how to send the browser to the IdP.
type LoginStart struct {
	// RedirectURL is a URL to redirect the browser to (HTTP-Redirect binding, OAuth).
	RedirectURL string
	// PostURL and PostForm, when set, are submitted by an auto-posting HTML form instead
	// (SAML HTTP-POST binding).
	PostURL  string
	PostForm url.Values
	// FlowData is private per-login state kept server-side with the flow and handed back to
	// HandleCallback (nonce, PKCE verifier, AuthnRequest ID). Never sent to the browser.
	FlowData map[string]string
}

// RedirectConnector starts logins by sending the browser to the IdP.
type RedirectConnector interface {
	Connector
	StartLogin(ctx context.Context, req LoginRequest) (*LoginStart, error)
}

// CallbackConnector finishes logins from the IdP's callback request.
type CallbackConnector interface {
	Connector
	// CallbackState returns the flow state the IdP sent back with the callback request (OAuth
	// `state` query parameter, SAML `RelayState` form field). It must not consume the body in a
	// way that prevents HandleCallback from reading it.
	CallbackState(r *http.Request) (string, error)
	// HandleCallback verifies the IdP's answer for the flow whose private data is given and
	// returns the identity. Every failure is a *LoginError.
	HandleCallback(ctx context.Context, r *http.Request, req LoginRequest, flowData map[string]string) (*Identity, error)
}

// UnsolicitedConnector accepts answers that no login flow asked for (SAML IdP-initiated
// logins), when its configuration allows them. HandleCallback is then called with nil flow data.
type UnsolicitedConnector interface {
	CallbackConnector
	AcceptsUnsolicited() bool
}

// MetadataConnector publishes service-provider metadata (SAML).
type MetadataConnector interface {
	Connector
	// SPMetadata returns the SP metadata XML for Gatehouse as the service provider.
	SPMetadata(req LoginRequest) ([]byte, error)
}

// HeaderAttributesConnector names identity attributes that go to the origin as headers (SAML
// header_attributes).
type HeaderAttributesConnector interface {
	Connector
	// HeaderAttributes maps attribute names to header names.
	HeaderAttributes() map[string]string
}

// LoginError is a failed login: a machine-readable reason for the auth log (e.g.
// "saml-signature-invalid", "oidc-nonce-mismatch") and the private cause. Users see a generic
// message with a reference ID, never the cause.
type LoginError struct {
	Reason string
	Cause  error
}

func (e *LoginError) Error() string {
	if e.Cause == nil {
		return e.Reason
	}
	return e.Reason + ": " + e.Cause.Error()
}

// Unwrap returns the cause.
func (e *LoginError) Unwrap() error { return e.Cause }

// Fail returns a *LoginError.
func Fail(reason string, cause error) error { return &LoginError{Reason: reason, Cause: cause} }

// Failf returns a *LoginError with a formatted cause.
func Failf(reason, format string, args ...any) error {
	return &LoginError{Reason: reason, Cause: fmt.Errorf(format, args...)}
}

// FailureReason returns the LoginError reason in err, or "login-failed".
func FailureReason(err error) string {
	var le *LoginError
	if errors.As(err, &le) {
		return le.Reason
	}
	return "login-failed"
}

// Env is what connectors get from the running Gatehouse.
type Env struct {
	// ID is the identity provider ID from the configuration.
	ID string
	// HTTPClient is the client for every outbound request (discovery, JWKS, token endpoint,
	// metadata URLs, provider APIs).
	HTTPClient *http.Client
	Now        func() time.Time
	Log        *slog.Logger
	// Signer and Certificate sign SAML AuthnRequests when a connector is configured to
	// (sign_request); the certificate is published in the SP metadata.
	Signer      crypto.Signer
	Certificate *x509.Certificate
	// Decrypters and EncryptionCertificates are Gatehouse's SAML encryption keys (current first,
	// then any still in a rotation overlap) for IdPs with enable_encryption; the certificates
	// are published in the SP metadata.
	Decrypters             []crypto.Decrypter
	EncryptionCertificates []*x509.Certificate
	// Replay remembers one-time values (SAML assertion IDs) across replicas.
	Replay ReplayCache
}

// ReplayCache remembers values until they expire.
type ReplayCache interface {
	// Remember records key until expires; it returns false when the key was already recorded.
	Remember(ctx context.Context, key string, expires time.Time) (bool, error)
}
