package snapshot

import (
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/identity/onetimepin"
	"github.com/gatehouse/gatehouse/internal/wire"
)

// Runtime is what serving a configuration version needs beyond what Compile derives from its
// objects: the identity connectors and PIN senders the composition root builds (they hold network
// clients, keys and caches), and the header names identity providers send to origins. It is
// attached to a compiled snapshot with WithRuntime before the snapshot is published, so every
// request sees the policies, connectors, senders and header settings of one version: never new
// connectors with an old policy, or the reverse.
type Runtime struct {
	// Connectors are the connectors of redirect-based identity providers, by IdP ID.
	Connectors map[string]identity.Connector
	// PINSenders are the senders of onetimepin identity providers, by IdP ID.
	PINSenders map[string]onetimepin.Sender
	// IdentityHeaders are the header names (any case) identity providers send to origins (SAML
	// header_attributes). The proxy removes client copies of them and sets its own.
	IdentityHeaders []string
}

// runtime is Runtime as the snapshot keeps it.
type runtime struct {
	connectors      map[string]identity.Connector
	pinSenders      map[string]onetimepin.Sender
	identityHeaders map[string]bool // folded names
}

// WithRuntime returns a copy of s serving with rt. s itself is unchanged (it may already be
// published); the maps of rt must not be modified afterwards.
func (s *Snapshot) WithRuntime(rt Runtime) *Snapshot {
	c := *s
	c.runtime = runtime{connectors: rt.Connectors, pinSenders: rt.PINSenders,
		identityHeaders: make(map[string]bool, len(rt.IdentityHeaders))}
	for _, h := range rt.IdentityHeaders {
		c.runtime.identityHeaders[wire.FoldHeader(h)] = true
	}
	return &c
}

// Connector returns the connector of a redirect-based identity provider (nil when there is none).
func (s *Snapshot) Connector(idpID string) identity.Connector { return s.runtime.connectors[idpID] }

// PINSender returns the sender of a onetimepin identity provider (nil when there is none).
func (s *Snapshot) PINSender(idpID string) onetimepin.Sender { return s.runtime.pinSenders[idpID] }

// IdentityHeaders returns the folded names (wire.FoldHeader) of the headers identity providers
// send to origins. The map is shared: do not modify it.
func (s *Snapshot) IdentityHeaders() map[string]bool { return s.runtime.identityHeaders }
