package store

import (
	"errors"
	"time"
)

// SCIM identity update behaviours (SCIMConfig.IdentityUpdateBehavior).
const (
	SCIMUpdateAutomatic = "automatic"
	SCIMUpdateReauth    = "reauth"
	SCIMUpdateNoAction  = "no_action"
)

// SCIMConfig is the inbound SCIM provisioning setting of one identity provider.
type SCIMConfig struct {
	Enabled bool `json:"enabled" yaml:"enabled"`
	// UserDeprovision: deactivating or deleting a SCIM user revokes all of the linked registry
	// user's sessions and marks the registry user inactive.
	UserDeprovision bool `json:"user_deprovision,omitempty" yaml:"user_deprovision,omitempty"`
	// SeatDeprovision (requires UserDeprovision): deprovisioning also removes the user's seat.
	SeatDeprovision bool `json:"seat_deprovision,omitempty" yaml:"seat_deprovision,omitempty"`
	// IdentityUpdateBehavior is automatic, reauth or no_action ("" means no_action).
	IdentityUpdateBehavior string `json:"identity_update_behavior,omitempty" yaml:"identity_update_behavior,omitempty"`
}

// SCIMSecret is the bearer secret of one identity provider's SCIM endpoint; only its hex SHA-256
// is stored.
type SCIMSecret struct {
	IdPID     string    `json:"idp_id"`
	Hash      string    `json:"hash"`
	CreatedAt time.Time `json:"created_at"`
}

// SCIMUser is a User resource provisioned by one identity provider. It belongs to that IdP only:
// its ExternalID is the IdP's opaque identifier, meaningful within the IdP's namespace.
type SCIMUser struct {
	ID          string `json:"id"` // Gatehouse UUID, the SCIM id
	IdPID       string `json:"idp_id"`
	ExternalID  string `json:"external_id,omitempty"`
	UserName    string `json:"user_name"` // unique per IdP, case-insensitively
	DisplayName string `json:"display_name,omitempty"`
	// Email is the primary (or first) e-mail address in normal form (package mailaddr), "" for
	// none. The store refuses an address without a normal form.
	Email  string `json:"email,omitempty"`
	Active bool   `json:"active"`
	// RegistryUserID is the linked registry User ("" while unlinked).
	RegistryUserID string `json:"registry_user_id,omitempty"`
	// OwnsRegistryUser says this IdP's provisioning created the linked registry user.
	OwnsRegistryUser bool `json:"owns_registry_user,omitempty"`
	// Version counts writes, starting at 1; it is the ETag.
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Attributes is the JSON object of the resource's other attributes as last written (name,
	// emails, enterprise extension, ...), without id, meta and groups.
	Attributes []byte `json:"attributes,omitempty"`
}

// SCIMGroup is a Group resource provisioned by one identity provider.
type SCIMGroup struct {
	ID          string `json:"id"`
	IdPID       string `json:"idp_id"`
	ExternalID  string `json:"external_id,omitempty"`
	DisplayName string `json:"display_name"`
	// Members are the IDs of SCIM users of the same IdP, sorted.
	Members    []string  `json:"members,omitempty"`
	Version    int64     `json:"version"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	Attributes []byte    `json:"attributes,omitempty"`
}

// SCIMEffect decides what a SCIM write does to one registry user linked to a SCIM user the
// write affects (see "Registry effects" in Store). It runs inside the write's transaction; like
// an updater it may run more than once, must not call the store, and its error aborts the write.
type SCIMEffect func(c *SCIMRegistryChange) error

// SCIMRegistryChange is one registry user a SCIM write affects, handed to its SCIMEffect and
// returned as committed.
type SCIMRegistryChange struct {
	// Before and After are the SCIM user before and after the write; After is nil when the
	// write deleted it. Group writes pass the member, unchanged, as both.
	Before, After *SCIMUser
	// Groups are the display names of the IdP's groups the SCIM user belongs to after the
	// write, sorted, without duplicates.
	Groups []string
	// User is the linked registry user. The effect changes it in place; the store keeps the
	// changes as UpdateUser does (ID and CreatedAt fixed, UpdatedAt now when anything changed).
	User *User
	// RevokeSessions, set by the effect, revokes all of User's sessions and sets its
	// TokensNotBefore, as RevokeUserSessions does, in the same transaction.
	RevokeSessions bool
	// RevokeDevices, set by the effect, revokes all of User's gateway devices, as
	// GatewayDevices.RevokeUserGatewayDevices does, in the same transaction (a backend
	// without GatewayDevices ignores it).
	RevokeDevices bool
	// Effects are labels the effect records for the caller's audit log.
	Effects []string
}

// SCIMQuery selects one identity provider's SCIM resources for ListSCIMUsers and
// ListSCIMGroups.
type SCIMQuery struct {
	IdPID string
	// Filter, when not nil, restricts the result to matching resources. A backend that cannot
	// evaluate it returns an error wrapping ErrFilterNotIndexed; the caller then lists without
	// a filter and matches in memory.
	Filter SCIMFilter
	// Offset skips that many resources of the ordered result; Limit (> 0) caps it, 0 returns
	// only the total.
	Offset, Limit int
}

// SCIMFilter is a parsed SCIM filter that a backend can translate into its own query language.
// Columns maps a SCIM attribute path (as the filter names it, e.g. "userName", "emails.value")
// to a backend column expression; ToSQL returns a boolean SQL expression with ? placeholders and
// its arguments, or an error wrapping ErrFilterNotIndexed when the filter uses an attribute that
// Columns lacks.
type SCIMFilter interface {
	ToSQL(columns map[string]SCIMColumn) (where string, args []any, err error)
}

// SCIMColumn describes one column a SCIM filter may compare.
type SCIMColumn struct {
	// Expr is the backend's column expression.
	Expr string
	// Kind is "string", "bool" or "micros" (a time stored as Unix microseconds).
	Kind string
	// CaseExact says the attribute compares case-sensitively.
	CaseExact bool
	// Folded says Expr holds the lower-cased value (only for attributes that are not CaseExact).
	Folded bool
}

// ErrFilterNotIndexed means a backend cannot evaluate a SCIM filter itself.
var ErrFilterNotIndexed = errors.New("store: SCIM filter not indexed")
