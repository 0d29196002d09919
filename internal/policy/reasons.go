package policy

import "github.com/gatehouse/gatehouse/internal/policy/criteria"

// Reasons that Decision.Reasons may hold besides the per-selector ones. Per-selector reasons are
// "<selector>-ok" (the include that matched, e.g. "email_domain-ok"),
// "include-failed-<selector>" (no include matched; one per selector kind among the includes),
// "require-failed-<selector>" (the first require that failed) and "excluded-by-<selector>" (the
// first exclude that matched), where <selector> is the rule's API key ("geo", "auth_method",
// "group", ...). Service-token failures carry ServiceTokenInput.Reason, e.g.
// "service-token-expired".
const (
	// ReasonPolicyMatched starts the reasons of every decision made by a matching policy,
	// whatever its action.
	ReasonPolicyMatched = "policy-matched"
	// ReasonNoPolicyMatched starts the reasons of a default deny.
	ReasonNoPolicyMatched = "no-policy-matched"
	// ReasonIdentityRequired says that allow and deny policies were not evaluated because
	// nobody is logged in; it is also the reason of ActionLogin.
	ReasonIdentityRequired = "identity-required"
	// ReasonServiceTokenInvalid is used for an invalid service token without a Reason.
	ReasonServiceTokenInvalid = "service-token-invalid"
	// ReasonUnknownApplication is the reason of the decision of a nil *App.
	ReasonUnknownApplication = "unknown-application"
)

// Static reason tables, so that decisions on the allow path reference shared slices instead
// of allocating. The slices are capped (len == cap): appending to one copies it.
var (
	reasonsMatched       [criteria.NumKinds][]string
	reasonIncludeFailed  [criteria.NumKinds]string
	reasonRequireFailed  [criteria.NumKinds]string
	reasonExcludedBy     [criteria.NumKinds]string
	reasonsLogin         = []string{ReasonIdentityRequired}[:1:1]
	reasonsNoMatch       = []string{ReasonNoPolicyMatched}[:1:1]
	reasonsNoApplication = []string{ReasonUnknownApplication}[:1:1]
)

func init() {
	for k := range criteria.NumKinds {
		name := k.String()
		reasonsMatched[k] = []string{ReasonPolicyMatched, name + "-ok"}[:2:2]
		reasonIncludeFailed[k] = "include-failed-" + name
		reasonRequireFailed[k] = "require-failed-" + name
		reasonExcludedBy[k] = "excluded-by-" + name
	}
}
