package scim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/scim/filter"
	"github.com/gatehouse/gatehouse/internal/store"
)

// sqlFilter lets a backend compile a parsed filter with filter.ToSQL.
type sqlFilter struct{ e filter.Expr }

// ToSQL implements store.SCIMFilter.
func (f sqlFilter) ToSQL(cols map[string]store.SCIMColumn) (string, []any, error) {
	fc := make(map[string]filter.Column, len(cols))
	for k, c := range cols {
		fc[k] = filter.Column{Expr: c.Expr, Kind: c.Kind, CaseExact: c.CaseExact, Folded: c.Folded}
	}
	w, args, err := filter.ToSQL(f.e, fc)
	if errors.Is(err, filter.ErrNotIndexed) {
		return "", nil, fmt.Errorf("%w: %w", store.ErrFilterNotIndexed, err)
	}
	return w, args, err
}

// page is a validated startIndex/count pair (RFC 7644 §3.4.2.4).
type page struct {
	startIndex, count int
}

// parsePage reads startIndex (values below 1 mean 1) and count (negative means 0; capped at
// the maximum page size; default the maximum).
func (h *handler) parsePage(r *http.Request) (page, error) {
	p := page{startIndex: 1, count: h.s.maxPage()}
	q := r.URL.Query()
	if v := q.Get("startIndex"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return p, errorf(http.StatusBadRequest, "invalidValue", "startIndex must be an integer.")
		}
		p.startIndex = max(n, 1)
	}
	if v := q.Get("count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return p, errorf(http.StatusBadRequest, "invalidValue", "count must be an integer.")
		}
		p.count = min(max(n, 0), h.s.maxPage())
	}
	return p, nil
}

// parseFilter parses the filter query parameter (nil when absent).
func parseFilter(r *http.Request) (filter.Expr, error) {
	v := r.URL.Query().Get("filter")
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	e, err := filter.Parse(v)
	if err != nil {
		return nil, &Error{Status: http.StatusBadRequest, ScimType: "invalidFilter", Detail: "The filter is not valid.", cause: err}
	}
	return e, nil
}

func listResponse(total int, p page, resources []any) map[string]any {
	return map[string]any{"schemas": []string{SchemaListResponse}, "totalResults": total, "startIndex": p.startIndex,
		"itemsPerPage": len(resources), "Resources": resources}
}

// caseExact says which attributes compare case-sensitively in memory (RFC 7643 §4.1, §4.2).
var caseExact = filter.CaseExact("id", "externalId", "meta.version", "members.value", "groups.value")

// listPaged runs a list: in SQL when the filter compiles, else by scanning the IdP's resources
// in batches and matching them in memory.
func listPaged[T any](ctx context.Context, h *handler, e filter.Expr, p page,
	list func(context.Context, store.SCIMQuery) ([]T, int, error), render func(*T) map[string]any,
) ([]any, int, error) {
	q := store.SCIMQuery{IdPID: h.idp.ID, Offset: p.startIndex - 1, Limit: p.count}
	if e != nil {
		q.Filter = sqlFilter{e}
	}
	items, total, err := list(ctx, q)
	switch {
	case err == nil:
		out := make([]any, 0, len(items))
		for i := range items {
			out = append(out, render(&items[i]))
		}
		return out, total, nil
	case errors.Is(err, filter.ErrInvalidFilter):
		return nil, 0, &Error{Status: http.StatusBadRequest, ScimType: "invalidFilter", Detail: "The filter does not fit the attribute types.", cause: err}
	case !errors.Is(err, store.ErrFilterNotIndexed):
		return nil, 0, storeError(err, "")
	}
	const batch = 1000
	var out []any
	total = 0
	for off := 0; off < maxInMemoryMatch; off += batch {
		items, n, err := list(ctx, store.SCIMQuery{IdPID: h.idp.ID, Offset: off, Limit: batch})
		if err != nil {
			return nil, 0, storeError(err, "")
		}
		for i := range items {
			res := render(&items[i])
			if !filter.Match(e, res, caseExact) {
				continue
			}
			total++
			if total >= p.startIndex && len(out) < p.count {
				out = append(out, res)
			}
		}
		if off+batch >= n {
			return out, total, nil
		}
	}
	return nil, 0, errorf(http.StatusBadRequest, "tooMany", "The filter matches too many resources to evaluate; filter on an indexed attribute.")
}

func (h *handler) listUsers(w http.ResponseWriter, r *http.Request) error {
	p, err := h.parsePage(r)
	if err != nil {
		return err
	}
	e, err := parseFilter(r)
	if err != nil {
		return err
	}
	out, total, err := listPaged(r.Context(), h, e, p, h.s.Store.ListSCIMUsers,
		func(u *store.SCIMUser) map[string]any { return h.userResource(u, nil) })
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listResponse(total, p, out))
	return nil
}

func (h *handler) listGroups(w http.ResponseWriter, r *http.Request) error {
	p, err := h.parsePage(r)
	if err != nil {
		return err
	}
	e, err := parseFilter(r)
	if err != nil {
		return err
	}
	excludeMembers := strings.Contains(strings.ToLower(r.URL.Query().Get("excludedAttributes")), "members")
	out, total, err := listPaged(r.Context(), h, e, p, h.s.Store.ListSCIMGroups,
		func(g *store.SCIMGroup) map[string]any {
			res := h.groupResource(g)
			if excludeMembers {
				delete(res, "members")
			}
			return res
		})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listResponse(total, p, out))
	return nil
}
