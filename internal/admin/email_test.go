package admin_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// legacyStore lists, before every other user, one recorded before addresses had a normal form:
// a look-alike that Unicode case folding takes for sam@example.com.
type legacyStore struct {
	*sqlstore.Store
	legacy store.User
}

func (s *legacyStore) ListUsers(ctx context.Context) ([]store.User, error) {
	users, err := s.Store.ListUsers(ctx)
	return append([]store.User{s.legacy}, users...), err
}

// TestFindUserByNormalForm: an administrator naming a user by e-mail gets the user with that
// normal form, never a look-alike that Unicode case folding equates with it; an address without
// a normal form finds only the row recorded byte for byte.
func TestFindUserByNormalForm(t *testing.T) {
	ctx := t.Context()
	db, err := sqlstore.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	sam, err := db.UpsertUserByEmail(ctx, "sam@example.com", store.LastSeen{})
	if err != nil {
		t.Fatal(err)
	}
	st := &legacyStore{Store: db, legacy: store.User{ID: "legacy-long-s", Email: "\u017Fam@example.com", Status: store.UserActive}}
	svc := &admin.Service{Store: st}
	for in, want := range map[string]string{
		"sam@example.com":       sam.ID,
		"SAM@Example.COM":       sam.ID,
		"\u017Fam@example.com":  "legacy-long-s",
		"\u017FAM@example.com":  "",
		"\u212Aate@example.com": "",
		"\uFF53am@example.com":  "",
	} {
		u, err := svc.FindUser(ctx, in)
		switch {
		case want == "" && !errors.Is(err, admin.ErrNotFound):
			t.Errorf("FindUser(%+q) = %+v, %v; want not found", in, u, err)
		case want != "" && (err != nil || u.ID != want):
			t.Errorf("FindUser(%+q) = %+v, %v; want user %s", in, u, err, want)
		}
	}
}
