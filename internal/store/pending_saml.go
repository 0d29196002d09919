package store

import "time"

// PendingSAMLRequest is an SP-initiated SAML login waiting for its user to sign in (Gatehouse as
// the SAML IdP of a SaaS application): the validated AuthnRequest's ID and the RelayState to
// return with the Response. It stays server-side across the login, so the browser carries only
// the random ID; it is single-use and short-lived.
type PendingSAMLRequest struct {
	// ID is the random handle in the SSO URL the browser returns to after signing in.
	ID    string `json:"id"`
	AppID string `json:"app_id"`
	// RequestID is the AuthnRequest's ID, returned as InResponseTo.
	RequestID  string `json:"request_id"`
	RelayState string `json:"relay_state,omitempty"`
	// SPEntityID and ACSURL are the issuer and assertion consumer service the request was
	// checked against; a Response is issued only while the application still has them.
	SPEntityID string    `json:"sp_entity_id"`
	ACSURL     string    `json:"acs_url"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	UsedAt     time.Time `json:"used_at,omitzero"`
}
