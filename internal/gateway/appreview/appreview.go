// Package appreview owns the review statuses in force for the gateway's application library
// (approved, unapproved, in review, unreviewed): the configuration's gateway.app_reviews, which
// wins and cannot be changed at run time, over the statuses administrators set through the CLI
// and the admin API, which the store keeps (store.GatewayAppReviews). A Book holds the merged set
// as an immutable applib.ReviewSet swapped atomically, reloads it when the store reports a
// change (this process's writes, another replica's or the CLI's), and answers the catalogue
// views the CLI and the admin API show: an application with its status, where the status comes
// from, and its confidence scores with their evidence.
package appreview

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/gateway/applib"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Where a status comes from.
const (
	SourceConfig  = "config"  // gateway.app_reviews in the configuration file
	SourceStore   = "store"   // set through the CLI or the admin API
	SourceDefault = "default" // nobody reviewed the application: unreviewed
)

var (
	// ErrConfigured: the application's status is set by gateway.app_reviews, which wins; change
	// it in the configuration file.
	ErrConfigured = errors.New("status set by gateway.app_reviews in the configuration file")
	// ErrUnknownApp: no application of the library has that id or name.
	ErrUnknownApp = errors.New("unknown application")
	// ErrInvalid: the request is malformed (unknown status, no application named).
	ErrInvalid = errors.New("invalid review")
	// ErrUnsupported: the store cannot keep review statuses.
	ErrUnsupported = errors.New("this store backend cannot keep application review statuses")
)

// unknownAppError names the applications not found, with suggestions; it is ErrUnknownApp.
type unknownAppError struct{ msg string }

func (e *unknownAppError) Error() string        { return e.msg }
func (e *unknownAppError) Is(target error) bool { return target == ErrUnknownApp }

// Book is the review statuses in force. It is safe for concurrent use; Reviews is a lock-free
// read for the request path.
type Book struct {
	cat        *applib.Catalog
	st         store.GatewayAppReviews // nil: configuration only
	configured applib.ReviewSet
	evidence   applib.ResolvedEvidence
	now        func() time.Time

	cur    atomic.Pointer[state]
	loadMu sync.Mutex // one Reload at a time, so an older read never replaces a newer one
}

type state struct {
	merged applib.ReviewSet
	stored map[int]store.GatewayAppReview
}

// Options configure a Book.
type Options struct {
	// Configured is gateway.app_reviews, resolved (applib.ParseReviews).
	Configured applib.ReviewSet
	// Evidence is the operator's confidence-score evidence overlay, if any.
	Evidence applib.ResolvedEvidence
	Now      func() time.Time
}

// New returns a Book over cat whose stored statuses live in st (nil, or a store without the
// capability: configured statuses only, and Set fails with ErrUnsupported). Call Reload before
// use; until then only the configured statuses are in force.
func New(cat *applib.Catalog, st store.Store, opts Options) *Book {
	b := &Book{cat: cat, configured: opts.Configured, evidence: opts.Evidence, now: opts.Now}
	if r, ok := st.(store.GatewayAppReviews); ok {
		b.st = r
	}
	if b.now == nil {
		b.now = time.Now
	}
	b.cur.Store(&state{merged: b.merge(nil), stored: map[int]store.GatewayAppReview{}})
	return b
}

// Evidence returns the operator's confidence-score evidence overlay (gateway.app_evidence).
func (b *Book) Evidence() applib.ResolvedEvidence { return b.evidence }

// Catalog returns the application library the Book reviews.
func (b *Book) Catalog() *applib.Catalog { return b.cat }

// Reviews returns the statuses in force. The set is shared: never modify it.
func (b *Book) Reviews() applib.ReviewSet { return b.cur.Load().merged }

// Status returns an application's status in force and where it comes from.
func (b *Book) Status(appID int) (applib.Status, string) {
	if s, ok := b.configured[appID]; ok {
		return s, SourceConfig
	}
	if r, ok := b.cur.Load().stored[appID]; ok {
		return applib.Status(r.Status), SourceStore
	}
	return applib.StatusUnreviewed, SourceDefault
}

func (b *Book) merge(stored []store.GatewayAppReview) applib.ReviewSet {
	out := make(applib.ReviewSet, len(b.configured)+len(stored))
	for _, r := range stored {
		if b.cat.App(r.AppID) == nil {
			continue // an application a newer library knew; a status without effect here
		}
		out[r.AppID] = applib.Status(r.Status)
	}
	for id, s := range b.configured {
		out[id] = s
	}
	return out
}

// Reload reads the stored statuses again. On an error the statuses in force stay.
func (b *Book) Reload(ctx context.Context) error {
	if b.st == nil {
		return nil
	}
	b.loadMu.Lock()
	defer b.loadMu.Unlock()
	list, err := b.st.ListGatewayAppReviews(ctx)
	if err != nil {
		return fmt.Errorf("application review statuses: %w", err)
	}
	stored := make(map[int]store.GatewayAppReview, len(list))
	for _, r := range list {
		stored[r.AppID] = r
	}
	b.cur.Store(&state{merged: b.merge(list), stored: stored})
	return nil
}

// Change is one status change made by Set.
type Change struct {
	AppID   int           `json:"app_id"`
	AppName string        `json:"app_name"`
	From    applib.Status `json:"from"`
	To      applib.Status `json:"to"`
}

// Set gives the applications named by keys (ids or names, as ResolveApp reads them) the status
// (any spelling applib.ParseStatus accepts), all or none, as actor. It refuses, naming them,
// applications whose status the configuration sets (ErrConfigured) and names it does not know
// (ErrUnknownApp, with "did you mean"). It returns the changes that took effect (an application
// that already had the status is not among them) and reloads the statuses in force.
func (b *Book) Set(ctx context.Context, actor string, keys []string, status string) ([]Change, error) {
	st, err := applib.ParseStatus(status)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: name at least one application", ErrInvalid)
	}
	if b.st == nil {
		return nil, ErrUnsupported
	}
	var (
		unknown, pinned []string
		apps            []*applib.App
		seen            = map[int]bool{}
	)
	for _, k := range keys {
		app, err := b.cat.ResolveApp(k)
		if err != nil {
			unknown = append(unknown, err.Error())
			continue
		}
		if _, ok := b.configured[app.ID]; ok {
			pinned = append(pinned, fmt.Sprintf("%s (%d)", app.Name, app.ID))
			continue
		}
		if !seen[app.ID] {
			seen[app.ID] = true
			apps = append(apps, app)
		}
	}
	if len(unknown) > 0 {
		return nil, &unknownAppError{msg: strings.Join(unknown, "; ")}
	}
	if len(pinned) > 0 {
		return nil, fmt.Errorf("%s: %w", strings.Join(pinned, ", "), ErrConfigured)
	}
	// Read what is stored now (not the possibly older state in force) to report the changes.
	if err := b.Reload(ctx); err != nil {
		return nil, err
	}
	now := b.now().UTC()
	var (
		batch   []store.GatewayAppReview
		changes []Change
	)
	for _, app := range apps {
		from, _ := b.Status(app.ID)
		if from == st {
			continue
		}
		batch = append(batch, store.GatewayAppReview{AppID: app.ID, Status: string(st), UpdatedAt: now, UpdatedBy: actor})
		changes = append(changes, Change{AppID: app.ID, AppName: app.Name, From: from, To: st})
	}
	if len(batch) > 0 {
		if err := b.st.SetGatewayAppReviews(ctx, batch); err != nil {
			return nil, fmt.Errorf("setting application review statuses: %w", err)
		}
	}
	if err := b.Reload(ctx); err != nil {
		return changes, err
	}
	return changes, nil
}

// App is what the CLI and the admin API show of one application.
type App struct {
	ID               int           `json:"id"`
	Name             string        `json:"name"`
	AppTypeID        int           `json:"application_type_id"`
	AppType          string        `json:"application_type"`
	Vendor           string        `json:"vendor,omitempty"`
	AICategory       string        `json:"ai_category,omitempty"`
	Hostnames        []string      `json:"hostnames"`
	SupportHostnames []string      `json:"support_hostnames,omitempty"`
	Controls         []Control     `json:"controls,omitempty"`
	TenantControls   []string      `json:"tenant_controls,omitempty"`
	Status           applib.Status `json:"review_status"`
	StatusSource     string        `json:"review_status_source"`
	// ReviewedAt and ReviewedBy say when and by whom a stored status was set.
	ReviewedAt time.Time `json:"reviewed_at,omitzero"`
	ReviewedBy string    `json:"reviewed_by,omitempty"`
	// Posture and GenAI are the confidence scores (out of 5); GenAI is nil for non-AI apps.
	Posture float64  `json:"application_confidence_score"`
	GenAI   *float64 `json:"gen_ai_score,omitempty"`
	// Confidence is the scores with every criterion's evidence (detail views only).
	Confidence *applib.Confidence `json:"confidence,omitempty"`
}

// Control is one granular control of an application.
type Control struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

// View returns what is shown of app; detail adds the confidence evidence.
func (b *Book) View(app *applib.App, detail bool) App {
	st, src := b.Status(app.ID)
	v := App{ID: app.ID, Name: app.Name, AppTypeID: app.TypeID, Vendor: app.Vendor, AICategory: app.AICategory,
		Hostnames: app.Hostnames, SupportHostnames: app.SupportHostnames, TenantControls: app.TenantControls,
		Status: st, StatusSource: src}
	if app.Type != nil {
		v.AppType = app.Type.Name
	}
	if src == SourceStore {
		r := b.cur.Load().stored[app.ID]
		v.ReviewedAt, v.ReviewedBy = r.UpdatedAt, r.UpdatedBy
	}
	for _, c := range app.Controls {
		v.Controls = append(v.Controls, Control{ID: c.ID, Name: c.Name})
	}
	conf := b.cat.Confidence(app, b.evidence)
	v.Posture = conf.Posture.Total
	if conf.AI.Applicable {
		ai := conf.AI.Total
		v.GenAI = &ai
	}
	if detail {
		v.Confidence = &conf
	}
	return v
}

// Filter selects applications for List; zero fields select everything.
type Filter struct {
	// Status keeps applications with this status in force.
	Status applib.Status
	// Type keeps applications of this type (id, or name case-insensitively).
	Type string
	// AI keeps Artificial Intelligence applications only.
	AI bool
	// Search keeps applications whose name, vendor or a hostname contains it (case-insensitive).
	Search string
}

// List returns the applications Filter selects, by name.
func (b *Book) List(f Filter) ([]App, error) {
	var typ *applib.AppType
	if f.Type != "" {
		if id, err := strconv.Atoi(f.Type); err == nil {
			typ = b.cat.Type(id)
		} else {
			typ = b.cat.TypeByName(f.Type)
		}
		if typ == nil {
			return nil, fmt.Errorf("%w: unknown application type %q", ErrInvalid, f.Type)
		}
	}
	if f.Status != "" {
		if err := f.Status.Validate(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
	}
	search := strings.ToLower(strings.TrimSpace(f.Search))
	out := []App{}
	for _, app := range b.cat.Apps() {
		if f.AI && !app.IsAI() || typ != nil && app.TypeID != typ.ID {
			continue
		}
		if st, _ := b.Status(app.ID); f.Status != "" && st != f.Status {
			continue
		}
		if search != "" && !matches(app, search) {
			continue
		}
		out = append(out, b.View(app, false))
	}
	sort.SliceStable(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out, nil
}

func matches(app *applib.App, s string) bool {
	if strings.Contains(strings.ToLower(app.Name), s) || strings.Contains(strings.ToLower(app.Vendor), s) {
		return true
	}
	for _, h := range app.Hostnames {
		if strings.Contains(h, s) {
			return true
		}
	}
	return false
}
