package sqlstore_test

import (
	"path/filepath"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock *storetest.Clock) store.Store {
		s, err := sqlstore.Open(t.Context(), "sqlite", filepath.Join(t.TempDir(), "gatehouse.db"), sqlstore.WithClock(clock.Now))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
