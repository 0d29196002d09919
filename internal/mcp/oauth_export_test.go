package mcp

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// PutGrantForTest stores a grant with an access token and no refresh token, as Finish would.
func PutGrantForTest(ctx context.Context, v *Vault, server, user, access string, expiry time.Time) error {
	sealed, err := v.seal(grantSealID(server, user), &tokenSet{AccessToken: access, Expiry: expiry})
	if err != nil {
		return err
	}
	return v.st.PutMCPUpstreamGrant(ctx, &store.MCPUpstreamGrant{ServerID: server, UserID: user, Sealed: sealed, ExpiresAt: expiry})
}
