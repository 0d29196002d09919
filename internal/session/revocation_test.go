package session

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func TestCheck(t *testing.T) {
	revokedAt := time.Date(2026, 1, 1, 12, 0, 0, 500_000_000, time.UTC)
	var r Revocations
	if ok, _ := r.Check("u", "a", "s", revokedAt); !ok {
		t.Fatal("empty state revokes")
	}
	r.Set(&store.Revocations{
		UserNotBefore:   map[string]time.Time{"u": revokedAt},
		AppNotBefore:    map[string]time.Time{"a": revokedAt},
		RevokedSessions: map[string]time.Time{"s": revokedAt.Add(time.Hour)},
	})
	sameSecond := revokedAt.Truncate(time.Second) // a JWT iat has one-second resolution
	cases := []struct {
		user, app, sess string
		iat             time.Time
		ok              bool
		reason          string
	}{
		{"u", "", "", sameSecond, false, ReasonUserRevoked},
		{"u", "", "", revokedAt.Add(time.Second), true, ""},
		{"other", "a", "", sameSecond, false, ReasonAppRevoked},
		{"other", "a", "", revokedAt.Add(time.Second), true, ""},
		{"other", "b", "s", revokedAt.Add(time.Hour), false, ReasonSessionRevoked},
		{"", "b", "", sameSecond, true, ""}, // service tokens have no user or session
	}
	for _, c := range cases {
		ok, reason := r.Check(c.user, c.app, c.sess, c.iat)
		if ok != c.ok || reason != c.reason {
			t.Errorf("Check(%q,%q,%q,%v) = %v %q, want %v %q", c.user, c.app, c.sess, c.iat, ok, reason, c.ok, c.reason)
		}
	}
}
