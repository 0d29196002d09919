package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

var authEventTests = []suiteTest{
	{"Filters", testAuthEventFilters},
	{"Limits", testAuthEventLimits},
}

func testAuthEventFilters(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	now := clock.Now()
	mk := func(id string, ago time.Duration, user, app string) store.AuthEvent {
		return store.AuthEvent{ID: id, Time: now.Add(-ago), Action: "login", Allowed: true,
			UserID: user, Email: user + "@example.com", AppID: app}
	}
	e1 := mk("e1", 50*time.Minute, "u1", "app1")
	e2 := mk("e2", 40*time.Minute, "u2", "app1")
	e3 := mk("e3", 30*time.Minute, "u1", "app2")
	e4 := mk("e4", 20*time.Minute, "u2", "app2")
	e5 := store.AuthEvent{
		ID: "e5", Time: now.Add(-10 * time.Minute), Action: "login", Allowed: true,
		UserID: "u1", Email: "u1@example.com", AppID: "app1", AppDomain: "wiki.example.com",
		IdPID: "idp-oidc", IdPType: store.IdPOIDC, IP: "192.0.2.1", Country: "DE", PolicyID: "pol-allow",
		Reasons: []string{"include:email_domain", "require:geo"}, RequestID: "req-1",
	}
	requireAllFieldsSet(t, e5)
	e4.Allowed = false
	for _, e := range []store.AuthEvent{e1, e3, e2, e5, e4} { // not in time order
		ok(t, "AppendAuthEvent", s.AppendAuthEvent(ctx, &e))
	}
	norm := func(es ...store.AuthEvent) []store.AuthEvent {
		for i := range es {
			es[i].Time = ts(es[i].Time)
		}
		return es
	}
	for _, tc := range []struct {
		name string
		q    store.AuthEventQuery
		want []store.AuthEvent
	}{
		{"all", store.AuthEventQuery{}, norm(e5, e4, e3, e2, e1)},
		{"user", store.AuthEventQuery{UserID: "u1"}, norm(e5, e3, e1)},
		{"email", store.AuthEventQuery{Email: "u2@example.com"}, norm(e4, e2)},
		{"app", store.AuthEventQuery{AppID: "app2"}, norm(e4, e3)},
		{"time range", store.AuthEventQuery{Since: now.Add(-35 * time.Minute), Until: now.Add(-15 * time.Minute)}, norm(e4, e3)},
		{"since", store.AuthEventQuery{Since: now.Add(-25 * time.Minute)}, norm(e5, e4)},
		{"until", store.AuthEventQuery{Until: now.Add(-45 * time.Minute)}, norm(e1)},
		{"user and app", store.AuthEventQuery{UserID: "u1", AppID: "app1"}, norm(e5, e1)},
		{"limit", store.AuthEventQuery{Limit: 2}, norm(e5, e4)},
		{"no match", store.AuthEventQuery{UserID: "nobody"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListAuthEvents(ctx, tc.q)
			ok(t, "ListAuthEvents", err)
			if len(got) == 0 && len(tc.want) == 0 {
				return
			}
			equal(t, "ListAuthEvents", got, tc.want)
		})
	}
}

func testAuthEventLimits(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	const n = 1005
	for i := range n {
		e := store.AuthEvent{ID: fmt.Sprintf("e%04d", i), Time: clock.Now(), Action: "login"}
		ok(t, "AppendAuthEvent", s.AppendAuthEvent(ctx, &e))
		clock.Advance(time.Second)
	}
	for _, tc := range []struct{ limit, want int }{{0, 100}, {7, 7}, {1000, 1000}, {5000, 1000}} {
		got, err := s.ListAuthEvents(ctx, store.AuthEventQuery{Limit: tc.limit})
		ok(t, "ListAuthEvents", err)
		if len(got) != tc.want {
			t.Errorf("Limit %d: got %d events, want %d", tc.limit, len(got), tc.want)
			continue
		}
		for i, e := range got {
			if want := fmt.Sprintf("e%04d", n-1-i); e.ID != want {
				t.Errorf("Limit %d: event %d is %s, want %s (newest first)", tc.limit, i, e.ID, want)
				break
			}
		}
	}
}
