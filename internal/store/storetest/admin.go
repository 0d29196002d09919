package storetest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// adminTests cover the optional capabilities of admin.go (UserRegistry, AdminTokens, AuditLog);
// a backend that lacks one skips its tests.
var adminTests = []suiteTest{
	{"LinkedIdPs", testLinkedIdPs},
	{"AdminTokens", testAdminTokens},
	{"AuditEventFilters", testAuditEventFilters},
	{"AuditEventLimits", testAuditEventLimits},
	{"ExportStreams", testExportStreams},
}

func capability[T any](t *testing.T, s store.Store) T {
	t.Helper()
	c, isCap := s.(T)
	if !isCap {
		t.Skipf("backend does not implement %T", (*T)(nil))
	}
	return c
}

func testLinkedIdPs(t *testing.T, s store.Store, clock *Clock) {
	reg := capability[store.UserRegistry](t, s)
	ctx := t.Context()
	for i, e := range []store.AuthEvent{
		{UserID: "u1", IdPID: "okta", Action: "login", Allowed: true},
		{UserID: "u1", IdPID: "okta", Action: "login", Allowed: true},
		{UserID: "u1", IdPID: "entra", Action: "login", Allowed: true},
		{UserID: "u1", IdPID: "pin", Action: "login", Allowed: false},
		{UserID: "u2", IdPID: "pin", Action: "login", Allowed: true},
		{UserID: "u3", IdPID: "pin", Action: "logout", Allowed: true},
	} {
		e.ID, e.Time = fmt.Sprintf("e%d", i), clock.Now()
		ok(t, "AppendAuthEvent", s.AppendAuthEvent(ctx, &e))
	}
	all, err := reg.LinkedIdPs(ctx)
	ok(t, "LinkedIdPs", err)
	equal(t, "LinkedIdPs()", all, map[string][]string{"u1": {"entra", "okta"}, "u2": {"pin"}})
	some, err := reg.LinkedIdPs(ctx, "u2", "u3")
	ok(t, "LinkedIdPs", err)
	equal(t, "LinkedIdPs(u2, u3)", some, map[string][]string{"u2": {"pin"}})
}

func testAdminTokens(t *testing.T, s store.Store, clock *Clock) {
	at := capability[store.AdminTokens](t, s)
	ctx := t.Context()
	tok := store.AdminToken{ID: "t1", Name: "ci", TokenHash: "h1", CreatedAt: clock.Now(), LastUsedAt: clock.Now(),
		Scopes: []string{"access:read", "audit"}}
	requireAllFieldsSet(t, tok)
	ok(t, "CreateAdminToken", at.CreateAdminToken(ctx, &tok))
	isErr(t, "same ID", at.CreateAdminToken(ctx, &store.AdminToken{ID: "t1", Name: "x", TokenHash: "h2"}), store.ErrAlreadyExists)
	isErr(t, "same hash", at.CreateAdminToken(ctx, &store.AdminToken{ID: "t2", Name: "x", TokenHash: "h1"}), store.ErrAlreadyExists)
	clock.Advance(time.Second)
	ok(t, "CreateAdminToken t3", at.CreateAdminToken(ctx, &store.AdminToken{ID: "t3", Name: "ops", TokenHash: "h3", Scopes: []string{"all"}}))
	if err := at.CreateAdminToken(ctx, &store.AdminToken{ID: "t4", Name: "bad", TokenHash: "h4", Scopes: []string{"access read"}}); err == nil {
		t.Error("CreateAdminToken stored a scope with a space")
	}

	got, err := at.AdminTokenByHash(ctx, "h1")
	ok(t, "AdminTokenByHash", err)
	want := tok
	want.CreatedAt, want.LastUsedAt = ts(tok.CreatedAt), ts(tok.LastUsedAt)
	equal(t, "AdminTokenByHash", *got, want)
	_, err = at.AdminTokenByHash(ctx, "nope")
	isErr(t, "unknown hash", err, store.ErrNotFound)

	clock.Advance(time.Minute)
	ok(t, "TouchAdminToken", at.TouchAdminToken(ctx, "t3"))
	isErr(t, "touch unknown", at.TouchAdminToken(ctx, "nope"), store.ErrNotFound)
	list, err := at.ListAdminTokens(ctx)
	ok(t, "ListAdminTokens", err)
	if len(list) != 2 || list[0].ID != "t1" || list[1].ID != "t3" {
		t.Fatalf("ListAdminTokens = %+v, want t1, t3", list)
	}
	if !list[1].LastUsedAt.Equal(ts(clock.Now())) || list[1].LastUsedAt.Location() != time.UTC || list[1].CreatedAt.IsZero() {
		t.Errorf("touched token: %+v, want last used %v (UTC) and a creation time", list[1], ts(clock.Now()))
	}
	ok(t, "DeleteAdminToken", at.DeleteAdminToken(ctx, "t1"))
	isErr(t, "delete again", at.DeleteAdminToken(ctx, "t1"), store.ErrNotFound)
	_, err = at.AdminTokenByHash(ctx, "h1")
	isErr(t, "deleted token", err, store.ErrNotFound)
}

func testAuditEventFilters(t *testing.T, s store.Store, clock *Clock) {
	al := capability[store.AuditLog](t, s)
	ctx := t.Context()
	now := clock.Now()
	mk := func(id string, ago time.Duration, actor, action, target string) store.AuditEvent {
		return store.AuditEvent{ID: id, Time: now.Add(-ago), ActorType: store.ActorCLI, Actor: actor, Action: action,
			TargetType: "user", TargetID: target, Result: store.AuditSuccess}
	}
	e1 := mk("a1", 50*time.Minute, "cli", "user.revoke_sessions", "u1")
	e2 := mk("a2", 40*time.Minute, "ci-token", "app.revoke_tokens", "app1")
	e2.ActorType, e2.TargetType = store.ActorAPIToken, "app"
	e3 := mk("a3", 30*time.Minute, "cli", "user.revoke_session", "u2")
	e3.Result = store.AuditFailure
	e4 := store.AuditEvent{ID: "a4", Time: now.Add(-20 * time.Minute), ActorType: store.ActorAPIToken, Actor: "ci-token",
		IP: "192.0.2.7", Action: "user.revoke_sessions", TargetType: "user", TargetID: "u1", Result: store.AuditSuccess,
		Reasons: []string{"admin-request"}, Details: json.RawMessage(`{"sessions":2}`)}
	requireAllFieldsSet(t, e4)
	for _, e := range []store.AuditEvent{e3, e1, e4, e2} {
		ok(t, "AppendAuditEvent", al.AppendAuditEvent(ctx, &e))
	}
	isErr(t, "duplicate ID", al.AppendAuditEvent(ctx, &e1), store.ErrAlreadyExists)
	norm := func(es ...store.AuditEvent) []store.AuditEvent {
		for i := range es {
			es[i].Time = ts(es[i].Time)
		}
		return es
	}
	for _, tc := range []struct {
		name string
		q    store.AuditQuery
		want []store.AuditEvent
	}{
		{"all", store.AuditQuery{}, norm(e4, e3, e2, e1)},
		{"actor", store.AuditQuery{Actor: "cli"}, norm(e3, e1)},
		{"actor type", store.AuditQuery{ActorType: store.ActorAPIToken}, norm(e4, e2)},
		{"action", store.AuditQuery{Action: "user.revoke_sessions"}, norm(e4, e1)},
		{"target", store.AuditQuery{TargetType: "user", TargetID: "u1"}, norm(e4, e1)},
		{"result", store.AuditQuery{Result: store.AuditFailure}, norm(e3)},
		{"time range", store.AuditQuery{Since: now.Add(-45 * time.Minute), Until: now.Add(-30 * time.Minute)}, norm(e2)},
		{"since inclusive", store.AuditQuery{Since: now.Add(-30 * time.Minute)}, norm(e4, e3)},
		{"page", store.AuditQuery{Limit: 2, Offset: 1}, norm(e3, e2)},
		{"no match", store.AuditQuery{Actor: "nobody"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := al.ListAuditEvents(ctx, tc.q)
			ok(t, "ListAuditEvents", err)
			if len(got) == 0 && len(tc.want) == 0 {
				return
			}
			equal(t, "ListAuditEvents", got, tc.want)
		})
	}
}

func testAuditEventLimits(t *testing.T, s store.Store, clock *Clock) {
	al := capability[store.AuditLog](t, s)
	ctx := t.Context()
	const n = 1003
	for i := range n {
		e := store.AuditEvent{ID: fmt.Sprintf("a%04d", i), Action: "x", Actor: "cli", ActorType: store.ActorCLI, Result: store.AuditSuccess}
		ok(t, "AppendAuditEvent", al.AppendAuditEvent(ctx, &e)) // zero Time: now
		if i%2 == 1 {
			clock.Advance(time.Second) // equal times keep append order
		}
	}
	for _, tc := range []struct{ limit, want int }{{0, 100}, {5, 5}, {5000, 1000}} {
		got, err := al.ListAuditEvents(ctx, store.AuditQuery{Limit: tc.limit})
		ok(t, "ListAuditEvents", err)
		if len(got) != tc.want {
			t.Fatalf("Limit %d: %d events, want %d", tc.limit, len(got), tc.want)
		}
		for i, e := range got {
			if want := fmt.Sprintf("a%04d", n-1-i); e.ID != want {
				t.Fatalf("Limit %d: event %d is %s, want %s (newest first)", tc.limit, i, e.ID, want)
			}
		}
	}
}

func testExportStreams(t *testing.T, s store.Store, clock *Clock) {
	al := capability[store.AuditLog](t, s)
	ctx := t.Context()
	for i := range 5 {
		// Times go backwards: export order is append order, not event time.
		ok(t, "AppendAuditEvent", al.AppendAuditEvent(ctx, &store.AuditEvent{ID: fmt.Sprintf("a%d", i),
			Time: clock.Now().Add(-time.Duration(i) * time.Minute), Action: "x", Result: store.AuditSuccess}))
		ok(t, "AppendAuthEvent", s.AppendAuthEvent(ctx, &store.AuthEvent{ID: fmt.Sprintf("e%d", i), Action: "login"}))
	}
	ids := func(evs []store.ExportedEvent) (out []string) {
		for _, e := range evs {
			switch {
			case e.Audit != nil && e.Auth == nil:
				out = append(out, e.Stream+":"+e.Audit.ID)
			case e.Auth != nil && e.Audit == nil:
				out = append(out, e.Stream+":"+e.Auth.ID)
			default:
				t.Fatalf("exported event %+v must have exactly one of Audit and Auth", e)
			}
		}
		return out
	}
	first, err := al.ExportEvents(ctx, store.ExportAudit, 0, 3)
	ok(t, "ExportEvents", err)
	equal(t, "first audit batch", ids(first), []string{"audit:a0", "audit:a1", "audit:a2"})
	rest, err := al.ExportEvents(ctx, store.ExportAudit, first[2].Seq, 0)
	ok(t, "ExportEvents", err)
	equal(t, "rest of audit", ids(rest), []string{"audit:a3", "audit:a4"})
	auth, err := al.ExportEvents(ctx, store.ExportAuth, 0, 0)
	ok(t, "ExportEvents auth", err)
	equal(t, "auth stream", ids(auth), []string{"auth:e0", "auth:e1", "auth:e2", "auth:e3", "auth:e4"})
	for i := 1; i < len(auth); i++ {
		if auth[i].Seq <= auth[i-1].Seq {
			t.Fatalf("sequence numbers not increasing: %d then %d", auth[i-1].Seq, auth[i].Seq)
		}
	}
	if _, err := al.ExportEvents(ctx, "nope", 0, 0); err == nil {
		t.Errorf("unknown stream: no error")
	}

	cur, err := al.ExportCursor(ctx, "file", store.ExportAudit)
	ok(t, "ExportCursor", err)
	if cur != 0 {
		t.Fatalf("new cursor = %d, want 0", cur)
	}
	ok(t, "AdvanceExportCursor", al.AdvanceExportCursor(ctx, "file", store.ExportAudit, 0, first[2].Seq))
	isErr(t, "stale expected", al.AdvanceExportCursor(ctx, "file", store.ExportAudit, 0, rest[1].Seq), store.ErrConflict)
	ok(t, "AdvanceExportCursor again", al.AdvanceExportCursor(ctx, "file", store.ExportAudit, first[2].Seq, rest[1].Seq))
	cur, err = al.ExportCursor(ctx, "file", store.ExportAudit)
	ok(t, "ExportCursor", err)
	if cur != rest[1].Seq {
		t.Errorf("cursor = %d, want %d", cur, rest[1].Seq)
	}
	other, err := al.ExportCursor(ctx, "webhook", store.ExportAudit)
	ok(t, "ExportCursor other sink", err)
	if other != 0 {
		t.Errorf("another sink's cursor moved: %d", other)
	}
}
