package storetest

import (
	"encoding/json"
	"errors"
	"reflect"
	"regexp"
	"sort"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// ts is t as the contract says a backend returns it: UTC, truncated to the microsecond.
func ts(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func ok(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", what, err)
	}
}

// isErr fails unless errors.Is(err, target).
func isErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

// equal compares with reflect.DeepEqual (times compare equal only when both are UTC) and shows
// both values as JSON, or Go syntax when the JSON matches, on a mismatch.
func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	g, _ := json.MarshalIndent(got, "", "  ")
	w, _ := json.MarshalIndent(want, "", "  ")
	if string(g) != string(w) {
		t.Errorf("%s mismatch\n got: %s\nwant: %s", what, g, w)
		return
	}
	t.Errorf("%s mismatch\n got: %#v\nwant: %#v", what, got, want)
}

var (
	hex64  = regexp.MustCompile(`^[0-9a-f]{64}$`)
	uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
)

// waitFor reads ch until a Change satisfying want arrives. Notifications may be coalesced or
// spurious, so anything else is skipped.
func waitFor(t *testing.T, ch <-chan store.Change, what string, want func(store.Change) bool) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case c, open := <-ch:
			if !open {
				t.Fatalf("%s: watch channel closed", what)
			}
			if want(c) {
				return
			}
		case <-timeout:
			t.Fatalf("%s: no change notification within 10s", what)
		}
	}
}

// storePkg is the package whose struct types requireAllFieldsSet inspects.
var storePkg = reflect.TypeFor[store.Config]().PkgPath()

// requireAllFieldsSet fails unless every field of every store struct type reachable from v
// (names "Type.Field") is non-zero somewhere in v, except the exempt ones. Round-trip fixtures
// call it so that a field added to the domain types without a fixture value is noticed.
func requireAllFieldsSet(t *testing.T, v any, exempt ...string) {
	t.Helper()
	set := map[string]bool{}
	var declare func(reflect.Type)
	declare = func(typ reflect.Type) {
		switch typ.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
			declare(typ.Elem())
		case reflect.Struct:
			if typ.PkgPath() != storePkg {
				return
			}
			for i := range typ.NumField() {
				f := typ.Field(i)
				key := typ.Name() + "." + f.Name
				if _, seen := set[key]; seen || !f.IsExported() {
					continue
				}
				set[key] = false
				declare(f.Type)
			}
		}
	}
	var mark func(reflect.Value)
	mark = func(val reflect.Value) {
		switch val.Kind() {
		case reflect.Pointer:
			if !val.IsNil() {
				mark(val.Elem())
			}
		case reflect.Slice, reflect.Array:
			for i := range val.Len() {
				mark(val.Index(i))
			}
		case reflect.Map:
			for it := val.MapRange(); it.Next(); {
				mark(it.Value())
			}
		case reflect.Struct:
			typ := val.Type()
			if typ.PkgPath() != storePkg {
				return
			}
			for i := range typ.NumField() {
				if f := typ.Field(i); f.IsExported() && !val.Field(i).IsZero() {
					set[typ.Name()+"."+f.Name] = true
					mark(val.Field(i))
				}
			}
		}
	}
	rv := reflect.ValueOf(v)
	declare(rv.Type())
	mark(rv)
	for _, e := range exempt {
		delete(set, e)
	}
	var missing []string
	for k, isSet := range set {
		if !isSet {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("test fixture leaves %v zero: set them so the round trip covers them", missing)
	}
}
