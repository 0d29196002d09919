package appreview

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/gateway/applib"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

func openStore(t *testing.T, path string) store.Store {
	t.Helper()
	st, err := sqlstore.Open(t.Context(), "sqlite", path, sqlstore.WithPollInterval(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func app(t *testing.T, cat *applib.Catalog, name string) *applib.App {
	t.Helper()
	a, err := cat.ResolveApp(name)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestSetMergesUnderConfig(t *testing.T) {
	cat := applib.MustDefault()
	chatgpt, claude, gemini := app(t, cat, "ChatGPT"), app(t, cat, "Claude"), app(t, cat, "Gemini")
	configured, err := applib.ParseReviews(cat, applib.Reviews{"ChatGPT": "approved"})
	if err != nil {
		t.Fatal(err)
	}
	st := openStore(t, filepath.Join(t.TempDir(), "g.db"))
	b := New(cat, st, Options{Configured: configured})
	if err := b.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if s, src := b.Status(chatgpt.ID); s != applib.StatusApproved || src != SourceConfig {
		t.Fatalf("ChatGPT = %s from %s, want approved from config", s, src)
	}
	if s, src := b.Status(claude.ID); s != applib.StatusUnreviewed || src != SourceDefault {
		t.Fatalf("Claude = %s from %s, want unreviewed by default", s, src)
	}

	changes, err := b.Set(t.Context(), "alice", []string{"claude", "gemini", "Claude"}, "in_review")
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 2 || changes[0].To != applib.StatusInReview || changes[0].From != applib.StatusUnreviewed {
		t.Fatalf("changes = %+v, want Claude and Gemini unreviewed → in review", changes)
	}
	if got := b.Reviews(); got[claude.ID] != applib.StatusInReview || got[gemini.ID] != applib.StatusInReview || got[chatgpt.ID] != applib.StatusApproved {
		t.Fatalf("reviews in force = %v", got)
	}
	v := b.View(claude, true)
	if v.StatusSource != SourceStore || v.ReviewedBy != "alice" || v.ReviewedAt.IsZero() || v.Confidence == nil || v.GenAI == nil {
		t.Fatalf("view = %+v, want stored status by alice with confidence detail", v)
	}
	// Setting the same status again changes nothing.
	if changes, err = b.Set(t.Context(), "bob", []string{"Claude"}, "in review"); err != nil || len(changes) != 0 {
		t.Fatalf("Set again = %+v, %v; want no changes", changes, err)
	}

	// The configuration wins: the configured app cannot be changed, and the batch it is in
	// changes nothing.
	_, err = b.Set(t.Context(), "bob", []string{"Claude", "ChatGPT"}, "unapproved")
	if !errors.Is(err, ErrConfigured) || !strings.Contains(err.Error(), "ChatGPT") {
		t.Fatalf("Set on a configured app: %v, want ErrConfigured naming ChatGPT", err)
	}
	if s, _ := b.Status(claude.ID); s != applib.StatusInReview {
		t.Fatalf("Claude is %s after a refused batch, want in review", s)
	}
	_, err = b.Set(t.Context(), "bob", []string{"Claud"}, "approved")
	if !errors.Is(err, ErrUnknownApp) || !strings.Contains(err.Error(), "did you mean") {
		t.Fatalf("Set on a misspelt app: %v, want ErrUnknownApp with a suggestion", err)
	}
	for _, bad := range []string{"", "approve", "APPROVED!"} {
		if _, err := b.Set(t.Context(), "bob", []string{"Claude"}, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("Set status %q: %v, want ErrInvalid", bad, err)
		}
	}
	if _, err := b.Set(t.Context(), "bob", nil, "approved"); !errors.Is(err, ErrInvalid) {
		t.Errorf("Set without apps: %v, want ErrInvalid", err)
	}

	// Unreviewed removes the stored status.
	if _, err := b.Set(t.Context(), "carol", []string{"claude"}, "unreviewed"); err != nil {
		t.Fatal(err)
	}
	if s, src := b.Status(claude.ID); s != applib.StatusUnreviewed || src != SourceDefault {
		t.Fatalf("Claude = %s from %s after unreviewed, want the default", s, src)
	}
}

// TestFollowSeesOtherProcesses: a status the CLI sets (another process, same database) is in
// force in a running server without a restart.
func TestFollowSeesOtherProcesses(t *testing.T) {
	cat := applib.MustDefault()
	path := filepath.Join(t.TempDir(), "g.db")
	cli := New(cat, openStore(t, path), Options{})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	srvStore := openStore(t, path)
	server := New(cat, srvStore, Options{})
	if err := server.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	go func() { // as the composition root does on every Config change
		for c := range srvStore.Watch(ctx) {
			if c.Config {
				_ = server.Reload(ctx)
			}
		}
	}()
	time.Sleep(50 * time.Millisecond) // the poll's baseline
	if _, err := cli.Set(ctx, "cli", []string{"DeepSeek"}, "unapproved"); err != nil {
		t.Fatal(err)
	}
	id := app(t, cat, "DeepSeek").ID
	deadline := time.Now().Add(5 * time.Second)
	for server.Reviews()[id] != applib.StatusUnapproved {
		if time.Now().After(deadline) {
			t.Fatal("the server never saw the status the CLI set")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWithoutStoreCapability(t *testing.T) {
	cat := applib.MustDefault()
	b := New(cat, nil, Options{})
	if err := b.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Set(t.Context(), "x", []string{"ChatGPT"}, "approved"); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("Set without a store: %v, want ErrUnsupported", err)
	}
}

func TestList(t *testing.T) {
	cat := applib.MustDefault()
	configured, _ := applib.ParseReviews(cat, applib.Reviews{"ChatGPT": "approved", "DeepSeek": "unapproved"})
	b := New(cat, nil, Options{Configured: configured})
	all, err := b.List(Filter{})
	if err != nil || len(all) != len(cat.Apps()) {
		t.Fatalf("List() = %d apps, %v; want %d", len(all), err, len(cat.Apps()))
	}
	ai, _ := b.List(Filter{AI: true})
	byType, _ := b.List(Filter{Type: "artificial intelligence"})
	byTypeID, _ := b.List(Filter{Type: "25"})
	if len(ai) < 60 || len(ai) != len(byType) || len(byType) != len(byTypeID) {
		t.Fatalf("AI apps: %d by flag, %d by type name, %d by type id", len(ai), len(byType), len(byTypeID))
	}
	approved, _ := b.List(Filter{Status: applib.StatusApproved})
	if len(approved) != 1 || approved[0].Name != "ChatGPT" || approved[0].StatusSource != SourceConfig {
		t.Fatalf("approved = %+v", approved)
	}
	found, _ := b.List(Filter{Search: "deepseek.com"})
	if len(found) == 0 || found[0].Status != applib.StatusUnapproved {
		t.Fatalf("search deepseek.com = %+v", found)
	}
	if _, err := b.List(Filter{Type: "Nonsense"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown type: %v", err)
	}
	if _, err := b.List(Filter{Status: "approve"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown status: %v", err)
	}
}
