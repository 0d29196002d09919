package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/store"
)

// maxObjectBytes bounds one configuration object posted from the editor.
const maxObjectBytes = 48 << 10

// objectRow is a configuration object in a list: its id, name and provenance.
type objectRow struct {
	ID, Name, ManagedBy string
}

// objectKind is one kind of configuration object the console edits through the admin service's
// generic operations (admin.Objects), which check provenance, ETags and the configuration
// file's validation, and audit every change with the object before and after.
type objectKind interface {
	title() string
	list(ctx context.Context) ([]objectRow, error)
	// get returns the object as JSON with its secrets redacted, its ETag and provenance.
	get(ctx context.Context, id string) (doc []byte, etag, managedBy string, err error)
	create(ctx context.Context, a admin.Actor, doc []byte) (id string, err error)
	replace(ctx context.Context, a admin.Actor, id, etag string, doc []byte) error
	remove(ctx context.Context, a admin.Actor, id, etag string) error
	// example is a new object's starting JSON.
	example() string
}

// kindOps adapts admin.Objects[T] to objectKind.
type kindOps[T any] struct {
	o       admin.Objects[T]
	name    string
	fields  func(*T) objectRow
	initial string
}

func (k kindOps[T]) title() string   { return k.name }
func (k kindOps[T]) example() string { return k.initial }

func (k kindOps[T]) list(ctx context.Context) ([]objectRow, error) {
	all, err := k.o.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]objectRow, len(all))
	for i := range all {
		out[i] = k.fields(&all[i])
		if out[i].ManagedBy == "" {
			out[i].ManagedBy = store.ManagedByFile
		}
	}
	return out, nil
}

func (k kindOps[T]) get(ctx context.Context, id string) ([]byte, string, string, error) {
	v, etag, err := k.o.Get(ctx, id)
	if err != nil {
		return nil, "", "", err
	}
	doc, err := json.MarshalIndent(admin.Redacted(*v), "", "  ")
	if err != nil {
		return nil, "", "", err
	}
	m := k.fields(v).ManagedBy
	if m == "" {
		m = store.ManagedByFile
	}
	return doc, etag, m, nil
}

func (k kindOps[T]) decode(doc []byte) (T, error) {
	var v T
	if err := admin.DecodeStrict(bytes.NewReader(doc), &v); err != nil {
		return v, err
	}
	return v, nil
}

func (k kindOps[T]) create(ctx context.Context, a admin.Actor, doc []byte) (string, error) {
	v, err := k.decode(doc)
	if err != nil {
		return "", err
	}
	got, _, err := k.o.Create(ctx, a, v)
	if err != nil {
		return "", err
	}
	return k.fields(got).ID, nil
}

func (k kindOps[T]) replace(ctx context.Context, a admin.Actor, id, etag string, doc []byte) error {
	v, err := k.decode(doc)
	if err != nil {
		return err
	}
	_, _, err = k.o.Replace(ctx, a, id, v, etag)
	return err
}

func (k kindOps[T]) remove(ctx context.Context, a admin.Actor, id, etag string) error {
	return k.o.Delete(ctx, a, id, etag)
}

// kinds returns the kinds of configuration object the console edits, by the configuration
// file's section name. (Service tokens are created by their own operation, which shows the
// secret once: the console lists them on the identities page.)
func (c *Console) kinds() map[string]objectKind {
	s := c.Admin
	return map[string]objectKind{
		"applications": kindOps[store.Application]{s.Applications(), "Applications",
			func(v *store.Application) objectRow { return objectRow{v.ID, v.Name, v.ManagedBy} },
			`{"id": "wiki", "type": "self_hosted", "name": "Wiki", "destinations": [{"type": "public", "uri": "wiki.example.com"}], "upstream": "http://10.0.0.5:8080", "policies": [{"id": "employees", "precedence": 1}]}`},
		"policies": kindOps[store.Policy]{s.Policies(), "Policies",
			func(v *store.Policy) objectRow { return objectRow{v.ID, v.Name, v.ManagedBy} },
			`{"id": "employees", "name": "Employees", "decision": "allow", "include": [{"email_domain": {"domain": "example.com"}}]}`},
		"groups": kindOps[store.RuleGroup]{s.Groups(), "Rule groups",
			func(v *store.RuleGroup) objectRow { return objectRow{v.ID, v.Name, v.ManagedBy} },
			`{"id": "engineering", "name": "Engineering", "include": [{"email_domain": {"domain": "example.com"}}]}`},
		"lists": kindOps[store.List]{s.Lists(), "Lists",
			func(v *store.List) objectRow { return objectRow{v.ID, v.Name, v.ManagedBy} },
			`{"id": "contractors", "name": "Contractors", "type": "EMAIL", "items": [{"value": "pat@contractor.example"}]}`},
		"identity_providers": kindOps[store.IdentityProvider]{s.IdentityProviders(), "Identity providers",
			func(v *store.IdentityProvider) objectRow { return objectRow{v.ID, v.Name, v.ManagedBy} },
			`{"id": "pin", "name": "E-mail PIN", "type": "onetimepin"}`},
		"mcp_servers": kindOps[store.MCPServer]{s.MCPServerObjects(), "MCP servers",
			func(v *store.MCPServer) objectRow { return objectRow{v.ID, v.Name, v.ManagedBy} },
			`{"id": "wiki", "name": "Wiki tools", "url": "https://wiki.example.com/mcp", "auth_type": "unauthenticated"}`},
		"mcp_portals": kindOps[store.MCPPortal]{s.MCPPortalObjects(), "MCP portals",
			func(v *store.MCPPortal) objectRow { return objectRow{v.ID, v.Name, v.ManagedBy} },
			`{"id": "agents", "name": "Agents", "servers": [{"server_id": "wiki"}], "policies": [{"id": "employees", "precedence": 1}]}`},
	}
}

// kindOrder is the order of the kinds on the pages.
var kindOrder = []string{"applications", "policies", "groups", "lists", "identity_providers", "mcp_servers", "mcp_portals"}

// kindOf returns the kind the request names (?kind= or the form's kind), or a 404.
func (c *Console) kindOf(q *req, name string) (objectKind, error) {
	k, ok := c.kinds()[name]
	if !ok {
		return nil, httpx.Errorf(http.StatusNotFound, "not-found", "There is no such kind of configuration object.", nil)
	}
	return k, nil
}

// objectsPage lists the objects of one kind with their provenance, and offers a new one.
func (c *Console) objectsPage(q *req) error {
	name := q.r.URL.Query().Get("kind")
	if name == "" {
		name = kindOrder[0]
	}
	k, err := c.kindOf(q, name)
	if err != nil {
		return err
	}
	rows, err := k.list(q.r.Context())
	if err != nil {
		return adminError("The configuration", err)
	}
	type kindLink struct{ Name, Title string }
	var links []kindLink
	for _, n := range kindOrder {
		links = append(links, kindLink{n, c.kinds()[n].title()})
	}
	_, form := editKinds[name]
	return c.render(q, "objects.html", "Configuration: "+k.title(), map[string]any{"Kind": name, "Kinds": links, "Rows": rows,
		"Example": k.example(), "BackQuery": "kind=" + url.QueryEscape(name), "Form": form})
}

// objectPage shows one object's JSON (secrets redacted) with its provenance; an API object can
// be edited and deleted, with its ETag guarding against concurrent changes.
func (c *Console) objectPage(q *req) error {
	v := q.r.URL.Query()
	if v.Get("kind") == "" || v.Get("id") == "" {
		// A login comes back without the query string.
		http.Redirect(q.w, q.r, q.snap.Profile.Path(Path)+"objects", http.StatusSeeOther)
		return nil
	}
	return c.renderObject(q, v.Get("kind"), v.Get("id"), "", nil, http.StatusOK)
}

// renderObject renders an object's page; draft (when set) replaces the stored JSON in the
// editor, with the problems of saving it.
func (c *Console) renderObject(q *req, kindName, id, draft string, problems []string, status int) error {
	k, err := c.kindOf(q, kindName)
	if err != nil {
		return err
	}
	doc, etag, managedBy, err := k.get(q.r.Context(), id)
	if err != nil {
		return adminError("The object", err)
	}
	text := string(doc)
	if draft != "" {
		text = draft
	}
	return c.renderStatus(q, status, "object.html", k.title()+": "+id, map[string]any{"Kind": kindName, "KindTitle": k.title(), "ID": id,
		"JSON": text, "ETag": etag, "ManagedBy": managedBy, "Editable": managedBy == store.ManagedByAPI, "Problems": problems, "Form": editKinds[kindName] != "",
		"BackQuery": url.Values{"kind": {kindName}, "id": {id}}.Encode()})
}

// objectForm reads the editor's JSON.
func objectForm(q *req) ([]byte, error) {
	doc := strings.TrimSpace(q.r.PostForm.Get("json"))
	if len(doc) > maxObjectBytes {
		return nil, httpx.Errorf(http.StatusRequestEntityTooLarge, "too-large", "The object is too large.", nil)
	}
	return []byte(doc), nil
}

// problemsOf returns the problems of a refused change to show beside the editor: a
// validation's problems, or the admin service's public text; nil for other errors.
func problemsOf(err error) []string {
	var ve *admin.ValidationError
	if errors.As(err, &ve) {
		out := make([]string, len(ve.Problems))
		for i, p := range ve.Problems {
			out[i] = p.String()
		}
		return out
	}
	switch {
	case errors.Is(err, admin.ErrPrecondition):
		return []string{"Someone changed this object since you opened it. Reload the page to see their change, then make yours again."}
	case errors.Is(err, admin.ErrInvalid), errors.Is(err, admin.ErrConflict):
		return []string{httpx.AsError(adminError("", err)).Public}
	}
	return nil
}

// createObject creates an API object from the editor's JSON (form fields kind and json).
func (c *Console) createObject(q *req) error {
	name := q.r.PostForm.Get("kind")
	k, err := c.kindOf(q, name)
	if err != nil {
		return err
	}
	doc, err := objectForm(q)
	if err != nil {
		return err
	}
	id, err := k.create(q.r.Context(), q.actor(), doc)
	if ps := problemsOf(err); ps != nil {
		rows, lerr := k.list(q.r.Context())
		if lerr != nil {
			return adminError("The configuration", lerr)
		}
		var links []map[string]string
		for _, n := range kindOrder {
			links = append(links, map[string]string{"Name": n, "Title": c.kinds()[n].title()})
		}
		_, form := editKinds[name]
		return c.renderStatus(q, http.StatusBadRequest, "objects.html", "Configuration: "+k.title(), map[string]any{"Kind": name, "Kinds": links,
			"Rows": rows, "Example": string(doc), "Problems": ps, "BackQuery": "kind=" + url.QueryEscape(name), "Form": form})
	}
	if err != nil {
		return adminError("Creating the object", err)
	}
	q.r.PostForm.Set("back_query", url.Values{"kind": {name}, "id": {id}}.Encode())
	q.r.URL.RawQuery = "back=" + url.QueryEscape(q.snap.Profile.Path(Path)+"object")
	return c.done(q, "object-created")
}

// saveObject replaces an API object with the editor's JSON (form fields kind, id, etag, json).
func (c *Console) saveObject(q *req) error {
	name, id := q.r.PostForm.Get("kind"), q.r.PostForm.Get("id")
	k, err := c.kindOf(q, name)
	if err != nil {
		return err
	}
	doc, err := objectForm(q)
	if err != nil {
		return err
	}
	err = k.replace(q.r.Context(), q.actor(), id, q.r.PostForm.Get("etag"), doc)
	if ps := problemsOf(err); ps != nil {
		return c.renderObject(q, name, id, string(doc), ps, http.StatusBadRequest)
	}
	if err != nil {
		return adminError("Saving the object", err)
	}
	return c.done(q, "object-saved")
}

// deleteObject deletes an API object (form fields kind, id, etag).
func (c *Console) deleteObject(q *req) error {
	name, id := q.r.PostForm.Get("kind"), q.r.PostForm.Get("id")
	k, err := c.kindOf(q, name)
	if err != nil {
		return err
	}
	err = k.remove(q.r.Context(), q.actor(), id, q.r.PostForm.Get("etag"))
	if ps := problemsOf(err); ps != nil {
		return c.renderObject(q, name, id, "", ps, http.StatusConflict)
	}
	if err != nil {
		return adminError("Deleting the object", err)
	}
	q.r.PostForm.Set("back_query", "kind="+url.QueryEscape(name))
	q.r.URL.RawQuery = "back=" + url.QueryEscape(q.snap.Profile.Path(Path)+"objects")
	return c.done(q, "object-deleted")
}
