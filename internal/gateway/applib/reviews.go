package applib

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Status is an application's review status, with Cloudflare's API values.
type Status string

// Review statuses. A status alone never blocks anything: rules match on it
// (app.statuses) to decide.
const (
	StatusApproved   Status = "approved"
	StatusUnapproved Status = "unapproved"
	StatusInReview   Status = "in review"
	StatusUnreviewed Status = "unreviewed" // the default
)

// Statuses lists the review statuses in display order.
var Statuses = []Status{StatusApproved, StatusUnapproved, StatusInReview, StatusUnreviewed}

// ParseStatus parses a review status. It accepts the API values in any case and with "_" or
// "-" for the space of "in review" (so in_review works in YAML keys and CLI flags).
func ParseStatus(s string) (Status, error) {
	n := strings.ToLower(strings.TrimSpace(s))
	n = strings.NewReplacer("_", " ", "-", " ").Replace(n)
	n = strings.Join(strings.Fields(n), " ")
	for _, st := range Statuses {
		if n == string(st) {
			return st, nil
		}
	}
	return "", fmt.Errorf("unknown review status %q (want approved, unapproved, in review or unreviewed)", s)
}

// Validate reports whether s is one of the four statuses, spelt as the API spells it.
func (s Status) Validate() error {
	for _, st := range Statuses {
		if s == st {
			return nil
		}
	}
	return fmt.Errorf("unknown review status %q", string(s))
}

// Reviews is the review overlay as configuration holds it (gateway.app_reviews): application id
// (as a decimal string) or name → status. Use ParseReviews to resolve it against a catalogue.
type Reviews map[string]string

// ReviewSet is a resolved review overlay: application id → status. Applications not in it are
// unreviewed. The zero value (nil) is valid: everything is unreviewed.
type ReviewSet map[int]Status

// Status returns the review status of an application.
func (r ReviewSet) Status(appID int) Status {
	if s, ok := r[appID]; ok {
		return s
	}
	return StatusUnreviewed
}

// ReviewError is one invalid entry of a review overlay.
type ReviewError struct {
	Key     string // the entry's key as given
	Problem string
}

func (e *ReviewError) Error() string { return fmt.Sprintf("app_reviews[%q]: %s", e.Key, e.Problem) }

// ParseReviews resolves a review overlay against the catalogue. Keys are application ids or
// names (case-insensitive); an unknown key is an error that suggests the nearest names ("did you
// mean"); an application named twice with different statuses is an error. All problems are
// returned together (errors.Join of *ReviewError), in key order.
func ParseReviews(c *Catalog, in Reviews) (ReviewSet, error) {
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(ReviewSet, len(in))
	from := map[int]string{}
	var errs []error
	for _, k := range keys {
		app, problem := c.resolveApp(k)
		if app == nil {
			errs = append(errs, &ReviewError{Key: k, Problem: problem})
			continue
		}
		st, err := ParseStatus(in[k])
		if err != nil {
			errs = append(errs, &ReviewError{Key: k, Problem: err.Error()})
			continue
		}
		if prev, ok := out[app.ID]; ok && prev != st {
			errs = append(errs, &ReviewError{Key: k, Problem: fmt.Sprintf("%s (app %d) is already %q through %q", app.Name, app.ID, prev, from[app.ID])})
			continue
		}
		out[app.ID] = st
		from[app.ID] = k
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// ResolveApp finds an application by id (decimal) or name (case-insensitive). When none matches,
// the error names the closest applications.
func (c *Catalog) ResolveApp(key string) (*App, error) {
	app, problem := c.resolveApp(key)
	if app == nil {
		return nil, errors.New(problem)
	}
	return app, nil
}

func (c *Catalog) resolveApp(key string) (*App, string) {
	k := strings.TrimSpace(key)
	if id, err := parseIDKey(k); err == nil {
		if a := c.byID[id]; a != nil {
			return a, ""
		}
		return nil, fmt.Sprintf("no application has id %d", id)
	}
	if a := c.byName[strings.ToLower(k)]; a != nil {
		return a, ""
	}
	if s := c.suggest(k); len(s) > 0 {
		return nil, fmt.Sprintf("unknown application %q; did you mean %s?", key, quoteJoin(s))
	}
	return nil, fmt.Sprintf("unknown application %q", key)
}

func parseIDKey(s string) (int, error) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, errors.New("not an id")
	}
	return strconv.Atoi(s)
}

func quoteJoin(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = strconv.Quote(v)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// suggest returns up to three application names closest to key: names containing it (or
// contained in it), else the nearest by edit distance (transpositions count once), within a
// third of the name's length.
func (c *Catalog) suggest(key string) []string {
	k := strings.ToLower(key)
	if k == "" {
		return nil
	}
	type cand struct {
		name string
		d    int
	}
	var cs []cand
	for _, a := range c.apps {
		n := strings.ToLower(a.Name)
		d := levenshtein(k, n)
		switch {
		case len(k) >= 3 && (strings.Contains(n, k) || strings.Contains(k, n) && len(n) >= 3):
			cs = append(cs, cand{a.Name, 0})
		case d <= max(1, len(n)/3):
			cs = append(cs, cand{a.Name, d})
		}
	}
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].d != cs[j].d {
			return cs[i].d < cs[j].d
		}
		return cs[i].name < cs[j].name
	})
	var out []string
	for i := 0; i < len(cs) && i < 3 && cs[i].d == cs[0].d; i++ {
		out = append(out, cs[i].name) // only the closest candidates
	}
	return out
}

// levenshtein is the optimal-string-alignment distance: insertions, deletions, substitutions
// and adjacent transpositions each cost 1.
func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
