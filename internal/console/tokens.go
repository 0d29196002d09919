package console

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/store"
)

// formProblems are the problems of a refused change, placed beside the form's fields: a
// validation problem goes to the field its path starts with (with the whole path shown), the
// rest above the form.
type formProblems struct {
	byField map[string][]string
	Other   []string
}

// Any reports whether there is a problem at all.
func (p formProblems) Any() bool { return len(p.Other) > 0 || len(p.byField) > 0 }

// For returns the problems of a field (the first segment of their paths).
func (p formProblems) For(field string) []string { return p.byField[field] }

// All returns every problem, the fields' with their paths.
func (p formProblems) All() []string {
	out := append([]string(nil), p.Other...)
	for _, ps := range p.byField {
		out = append(out, ps...)
	}
	return out
}

// problemField is the field a problem's path starts with ("destinations" for
// "destinations[0].uri"); "" for a path naming another object ("applications[id=x]...").
func problemField(path string) string {
	if i := strings.IndexAny(path, "[."); i >= 0 {
		if path[i] == '[' && strings.HasPrefix(path[i:], "[id=") {
			return ""
		}
		path = path[:i]
	}
	return path
}

// problemsFor sorts the problems of err onto fields (those the form has; others above the
// form). ok is false when err is not a refusal to show beside the form.
func problemsFor(err error, fields ...string) (formProblems, bool) {
	return problemsBy(err, func(path string) string {
		if f := problemField(path); contains(fields, f) {
			return f
		}
		return ""
	})
}

// problemsBy is problemsFor with a function that names the field of a problem's path ("":
// above the form).
func problemsBy(err error, fieldOf func(path string) string) (formProblems, bool) {
	var p formProblems
	var ve *admin.ValidationError
	if errors.As(err, &ve) {
		for _, pr := range ve.Problems {
			if f := fieldOf(pr.Path); f != "" {
				p.add(f, pr.String())
			} else {
				p.Other = append(p.Other, pr.String())
			}
		}
		return p, true
	}
	ps := problemsOf(err)
	p.Other = ps
	return p, ps != nil
}

// add puts a problem beside a field.
func (p *formProblems) add(field, msg string) {
	if p.byField == nil {
		p.byField = map[string][]string{}
	}
	p.byField[field] = append(p.byField[field], msg)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// tokenForm is the new service token form's values, shown again with its problems.
type tokenForm struct {
	ID, Name, Duration string
	Problems           formProblems
}

// createToken creates an API service token (form fields id, name, duration) and shows its
// client secret once, on the answer to the post itself: never in a URL, never logged, and the
// page is not cached (no-store).
func (c *Console) createToken(q *req) error {
	f := tokenForm{ID: strings.TrimSpace(q.r.PostForm.Get("id")), Name: strings.TrimSpace(q.r.PostForm.Get("name")),
		Duration: strings.TrimSpace(q.r.PostForm.Get("duration"))}
	tok := store.ServiceToken{ID: f.ID, Name: f.Name}
	if f.Duration != "" {
		d, err := time.ParseDuration(f.Duration)
		if err != nil || d <= 0 {
			f.Problems.add("duration", "duration: must be a positive duration such as 720h or 8760h (leave it empty for a year)")
			return c.renderIdentities(q, http.StatusBadRequest, &f, formProblems{})
		}
		tok.Duration = store.Duration(d)
	}
	created, _, err := c.Admin.CreateServiceToken(q.r.Context(), q.actor(), tok)
	if ps, ok := problemsFor(err, "id", "name", "duration"); ok {
		f.Problems = ps
		return c.renderIdentities(q, http.StatusBadRequest, &f, formProblems{})
	}
	if err != nil {
		return adminError("Creating the service token", err)
	}
	return c.showSecret(q, created, false)
}

// rotateToken gives an API service token a new client secret (form fields token, etag) and
// shows it once.
func (c *Console) rotateToken(q *req) error {
	id := q.r.PostForm.Get("token")
	if id == "" {
		return httpx.Errorf(http.StatusBadRequest, "bad-form", "No service token was given.", nil)
	}
	rotated, _, err := c.Admin.RotateServiceToken(q.r.Context(), q.actor(), id, q.r.PostForm.Get("etag"))
	if ps, ok := problemsFor(err); ok {
		status := http.StatusBadRequest
		if errors.Is(err, admin.ErrPrecondition) || errors.Is(err, admin.ErrConflict) {
			status = http.StatusConflict
		}
		ps.Other = append([]string{"Service token " + id + " was not rotated:"}, ps.Other...)
		return c.renderIdentities(q, status, nil, ps)
	}
	if err != nil {
		return adminError("Rotating the service token", err)
	}
	return c.showSecret(q, rotated, true)
}

// showSecret renders the page that shows a service token's client secret, the only time it
// is shown.
func (c *Console) showSecret(q *req, t *admin.ServiceTokenWithSecret, rotated bool) error {
	q.path = "identities"
	title := "Service token created"
	if rotated {
		title = "Service token rotated"
	}
	return c.render(q, "token_secret.html", title, map[string]any{"Token": t.ServiceToken, "Secret": t.ClientSecret, "Rotated": rotated,
		"Expires": session.ServiceTokenExpiry(&t.ServiceToken)})
}
