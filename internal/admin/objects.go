package admin

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Configuration objects. Applications, policies, rule groups, lists, identity providers,
// service tokens, MCP servers and MCP portals live in the store (store.Config), each marked with
// its provenance: managed_by "file" (declared in the configuration file, read-only here) or "api"
// (created here). Every change runs in one store transaction: the object is found, its
// provenance and ETag checked, the change made, and the whole resulting configuration validated
// with the configuration file's own checks (Service.CheckConfig) before it is stored.

// ErrPrecondition: an If-Match ETag no longer matches the object (someone changed it since it
// was read); the API answers 412.
var ErrPrecondition = errors.New("precondition failed")

// Problem is one thing wrong with a configuration change: the field path (relative to the
// object being changed, such as "destinations[0]", or naming another object by id, such as
// "applications[id=wiki].policies[0]") and what is wrong.
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// ValidationError is a configuration change that fails validation; it wraps ErrInvalid (or
// ErrConflict, for a deletion that would leave references dangling).
type ValidationError struct {
	Problems []Problem
	kind     error
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return e.kind.Error() + ": " + strings.Join(parts, "; ")
}

// Unwrap returns ErrInvalid or ErrConflict.
func (e *ValidationError) Unwrap() error { return e.kind }

// String is "path: message", or the message alone for the object itself.
func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// ConfigChecker validates the access objects of a candidate configuration with the
// configuration file's checks (package config's File.CheckObjects), filling in their defaults in
// cfg. Paths name objects as section[id=ID] ("applications[id=wiki].destinations[0]").
type ConfigChecker func(cfg *store.Config) []Problem

// Kind describes one kind of configuration object for the generic operations of Objects.
type Kind[T any] struct {
	// Section is the configuration file's key ("applications") and Name one object's name in
	// audit events and messages ("application").
	Section, Name string
	// Area is the admin token scope area of the kind (ScopeAccess, ScopeMCP).
	Area string
	list func(*store.Config) *[]T
	id   func(*T) *string
	// managedBy returns the object's provenance field.
	managedBy func(*T) *string
	// keep copies what the API cannot change from the stored object into a replacement (nil:
	// nothing beyond id and provenance).
	keep func(old, next *T)
	// fresh clears what the API cannot set on a new object (nil: nothing).
	fresh func(*T)
}

// Objects are the operations on one kind of configuration object.
type Objects[T any] struct {
	s *Service
	k *Kind[T]
}

var (
	kindApplications = &Kind[store.Application]{Section: "applications", Name: "application", Area: ScopeAccess,
		list: func(c *store.Config) *[]store.Application { return &c.Applications },
		id:   func(v *store.Application) *string { return &v.ID }, managedBy: func(v *store.Application) *string { return &v.ManagedBy },
		keep: func(old, next *store.Application) { next.AUD = old.AUD }, fresh: func(v *store.Application) { v.AUD = "" }}
	kindPolicies = &Kind[store.Policy]{Section: "policies", Name: "policy", Area: ScopeAccess,
		list: func(c *store.Config) *[]store.Policy { return &c.Policies },
		id:   func(v *store.Policy) *string { return &v.ID }, managedBy: func(v *store.Policy) *string { return &v.ManagedBy }}
	kindGroups = &Kind[store.RuleGroup]{Section: "groups", Name: "group", Area: ScopeAccess,
		list: func(c *store.Config) *[]store.RuleGroup { return &c.Groups },
		id:   func(v *store.RuleGroup) *string { return &v.ID }, managedBy: func(v *store.RuleGroup) *string { return &v.ManagedBy }}
	kindLists = &Kind[store.List]{Section: "lists", Name: "list", Area: ScopeAccess,
		list: func(c *store.Config) *[]store.List { return &c.Lists },
		id:   func(v *store.List) *string { return &v.ID }, managedBy: func(v *store.List) *string { return &v.ManagedBy }}
	kindIdPs = &Kind[store.IdentityProvider]{Section: "identity_providers", Name: "identity_provider", Area: ScopeAccess,
		list: func(c *store.Config) *[]store.IdentityProvider { return &c.IdentityProviders },
		id:   func(v *store.IdentityProvider) *string { return &v.ID }, managedBy: func(v *store.IdentityProvider) *string { return &v.ManagedBy }}
	kindServiceTokens = &Kind[store.ServiceToken]{Section: "service_tokens", Name: "service_token", Area: ScopeAccess,
		list: func(c *store.Config) *[]store.ServiceToken { return &c.ServiceTokens },
		id:   func(v *store.ServiceToken) *string { return &v.ID }, managedBy: func(v *store.ServiceToken) *string { return &v.ManagedBy },
		keep: func(old, next *store.ServiceToken) {
			next.ClientID, next.ClientSecretSHA256, next.CreatedAt = old.ClientID, old.ClientSecretSHA256, old.CreatedAt
		}}
	kindMCPServers = &Kind[store.MCPServer]{Section: "mcp_servers", Name: "mcp_server", Area: ScopeMCP,
		list: func(c *store.Config) *[]store.MCPServer { return &c.MCPServers },
		id:   func(v *store.MCPServer) *string { return &v.ID }, managedBy: func(v *store.MCPServer) *string { return &v.ManagedBy }}
	kindMCPPortals = &Kind[store.MCPPortal]{Section: "mcp_portals", Name: "mcp_portal", Area: ScopeMCP,
		list: func(c *store.Config) *[]store.MCPPortal { return &c.MCPPortals },
		id:   func(v *store.MCPPortal) *string { return &v.ID }, managedBy: func(v *store.MCPPortal) *string { return &v.ManagedBy }}
)

// Applications are the Access applications.
func (s *Service) Applications() Objects[store.Application] {
	return Objects[store.Application]{s, kindApplications}
}

// Policies are the reusable Access policies.
func (s *Service) Policies() Objects[store.Policy] { return Objects[store.Policy]{s, kindPolicies} }

// Groups are the rule groups (Cloudflare's Access groups).
func (s *Service) Groups() Objects[store.RuleGroup] { return Objects[store.RuleGroup]{s, kindGroups} }

// Lists are the e-mail and IP lists.
func (s *Service) Lists() Objects[store.List] { return Objects[store.List]{s, kindLists} }

// IdentityProviders are the login methods.
func (s *Service) IdentityProviders() Objects[store.IdentityProvider] {
	return Objects[store.IdentityProvider]{s, kindIdPs}
}

// ServiceTokens are the machine credentials; create them with CreateServiceToken (Create
// refuses: the secret is Gatehouse's to make) and re-key them with RotateServiceToken.
func (s *Service) ServiceTokens() Objects[store.ServiceToken] {
	return Objects[store.ServiceToken]{s, kindServiceTokens}
}

// MCPServers are the MCP servers registered with the MCP server portal.
func (s *Service) MCPServerObjects() Objects[store.MCPServer] {
	return Objects[store.MCPServer]{s, kindMCPServers}
}

// MCPPortals are the MCP portals.
func (s *Service) MCPPortalObjects() Objects[store.MCPPortal] {
	return Objects[store.MCPPortal]{s, kindMCPPortals}
}

// Kind returns the kind's description.
func (o Objects[T]) Kind() *Kind[T] { return o.k }

// List returns every object of the kind, the file's first, in the order the store keeps them.
func (o Objects[T]) List(ctx context.Context) ([]T, error) {
	cfg, err := o.s.Store.GetConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("get config: %w", err)
	}
	out := *o.k.list(cfg)
	if out == nil {
		out = []T{}
	}
	return out, nil
}

// Get returns one object and its ETag; ErrNotFound when there is none.
func (o Objects[T]) Get(ctx context.Context, id string) (*T, string, error) {
	cfg, err := o.s.Store.GetConfig(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("get config: %w", err)
	}
	i := o.index(cfg, id)
	if i < 0 {
		return nil, "", fmt.Errorf("%s %q: %w", o.k.Name, id, ErrNotFound)
	}
	v := (*o.k.list(cfg))[i]
	return &v, o.s.ETag(&v), nil
}

func (o Objects[T]) index(cfg *store.Config, id string) int {
	for i := range *o.k.list(cfg) {
		if *o.k.id(&(*o.k.list(cfg))[i]) == id && id != "" {
			return i
		}
	}
	return -1
}

// Create stores a new object created through the API (managed_by api). An empty id gets a
// random UUID; an id in use is ErrConflict. Read-only fields (managed_by, an application's aud)
// are set by Gatehouse. It returns the object as stored and its ETag.
func (o Objects[T]) Create(ctx context.Context, a Actor, v T) (*T, string, error) {
	if o.k.Section == kindServiceTokens.Section {
		return nil, "", fmt.Errorf("%w: service tokens are created with their own operation, which makes the secret", ErrInvalid)
	}
	return o.create(ctx, a, v)
}

func (o Objects[T]) create(ctx context.Context, a Actor, v T) (*T, string, error) {
	id := o.k.id(&v)
	if *id == "" {
		*id = uuid.NewString()
	}
	if err := checkManagedBy(*o.k.managedBy(&v)); err != nil {
		return nil, "", o.s.finish(ctx, a, o.k.Name+".create", o.k.Name, *id, nil, err)
	}
	*o.k.managedBy(&v) = store.ManagedByAPI
	if o.k.fresh != nil {
		o.k.fresh(&v)
	}
	return o.change(ctx, a, "create", *id, "", func(cfg *store.Config, i int) (int, error) {
		if i >= 0 {
			return 0, fmt.Errorf("%w: %s %q already exists", ErrConflict, strings.ReplaceAll(o.k.Name, "_", " "), *id)
		}
		*o.k.list(cfg) = append(*o.k.list(cfg), v)
		return len(*o.k.list(cfg)) - 1, nil
	})
}

// Replace replaces an API object with v (an empty id means the same id; another id is
// ErrInvalid). ifMatch, when not "", must be the object's current ETag (else ErrPrecondition).
// A file object is ErrConflict. Read-only fields keep their stored values.
func (o Objects[T]) Replace(ctx context.Context, a Actor, id string, v T, ifMatch string) (*T, string, error) {
	return o.change(ctx, a, "update", id, ifMatch, func(cfg *store.Config, i int) (int, error) {
		return i, o.replace(cfg, i, id, &v)
	})
}

func (o Objects[T]) replace(cfg *store.Config, i int, id string, v *T) error {
	if i < 0 {
		return fmt.Errorf("%s %q: %w", o.k.Name, id, ErrNotFound)
	}
	if vid := o.k.id(v); *vid == "" {
		*vid = id
	} else if *vid != id {
		return fmt.Errorf("%w: id: is %q, not %q: an object's id cannot change (create a new one)", ErrInvalid, *vid, id)
	}
	if err := checkManagedBy(*o.k.managedBy(v)); err != nil {
		return err
	}
	old := &(*o.k.list(cfg))[i]
	*o.k.managedBy(v) = store.ManagedByAPI
	if o.k.keep != nil {
		o.k.keep(old, v)
	}
	if err := restoreRedacted(old, v); err != nil {
		return err
	}
	*old = *v
	return nil
}

// Patch applies a JSON merge patch (RFC 7396) to an API object, as Replace does with the result.
// Values shown redacted that the patch leaves alone keep their stored values.
func (o Objects[T]) Patch(ctx context.Context, a Actor, id string, patch []byte, ifMatch string) (*T, string, error) {
	var p any
	if err := json.Unmarshal(patch, &p); err != nil {
		return nil, "", o.s.finish(ctx, a, o.k.Name+".update", o.k.Name, id, nil,
			fmt.Errorf("%w: body: not JSON", ErrInvalid))
	}
	if _, ok := p.(map[string]any); !ok {
		return nil, "", o.s.finish(ctx, a, o.k.Name+".update", o.k.Name, id, nil,
			fmt.Errorf("%w: body: a merge patch must be a JSON object", ErrInvalid))
	}
	return o.change(ctx, a, "update", id, ifMatch, func(cfg *store.Config, i int) (int, error) {
		if i < 0 {
			return 0, fmt.Errorf("%s %q: %w", o.k.Name, id, ErrNotFound)
		}
		cur, err := json.Marshal(Redacted((*o.k.list(cfg))[i]))
		if err != nil {
			return 0, err
		}
		var doc any
		if err := json.Unmarshal(cur, &doc); err != nil {
			return 0, err
		}
		merged, err := json.Marshal(mergePatch(doc, p))
		if err != nil {
			return 0, err
		}
		var v T
		if err := DecodeStrict(bytes.NewReader(merged), &v); err != nil {
			return 0, err
		}
		return i, o.replace(cfg, i, id, &v)
	})
}

// Delete removes an API object. ifMatch as in Replace. A deletion that would leave references
// dangling (a policy an application links) is ErrConflict with the problems.
func (o Objects[T]) Delete(ctx context.Context, a Actor, id, ifMatch string) error {
	_, _, err := o.change(ctx, a, "delete", id, ifMatch, func(cfg *store.Config, i int) (int, error) {
		if i < 0 {
			return 0, fmt.Errorf("%s %q: %w", o.k.Name, id, ErrNotFound)
		}
		l := o.k.list(cfg)
		*l = append((*l)[:i:i], (*l)[i+1:]...)
		return -1, nil
	})
	return err
}

// change runs one change in a store transaction: it finds the object id (index -1 when absent),
// refuses a file object, checks ifMatch, lets edit change the configuration (returning the
// changed object's index, -1 when it is gone), validates the result, and audits the change with
// the object before and after, secrets redacted.
func (o Objects[T]) change(ctx context.Context, a Actor, verb, id, ifMatch string, edit func(cfg *store.Config, i int) (int, error)) (*T, string, error) {
	var before, after *T
	cfg, err := o.s.Store.UpdateConfig(ctx, func(cfg *store.Config) error {
		before, after = nil, nil
		i := o.index(cfg, id)
		if i >= 0 {
			old := (*o.k.list(cfg))[i]
			before = &old
			if *o.k.managedBy(&old) == store.ManagedByFile {
				return fmt.Errorf("%w: %s %q is managed by the configuration file%s; change it there, or create another through the API",
					ErrConflict, strings.ReplaceAll(o.k.Name, "_", " "), id, o.s.fileName())
			}
			if ifMatch != "" && !o.s.etagMatches(ifMatch, &old) {
				return fmt.Errorf("%s %q changed since it was read (If-Match %s): %w", o.k.Name, id, ifMatch, ErrPrecondition)
			}
		} else if ifMatch != "" && ifMatch != "*" && verb != "create" {
			return fmt.Errorf("%s %q: %w", o.k.Name, id, ErrNotFound)
		}
		j, err := edit(cfg, i)
		if err != nil {
			return err
		}
		if err := o.s.check(cfg, o.k.Section, id, verb == "delete"); err != nil {
			return err
		}
		if j >= 0 {
			v := (*o.k.list(cfg))[j]
			after = &v
		}
		return nil
	})
	details := map[string]any{}
	if before != nil {
		details["before"] = Redacted(*before)
	}
	if err == nil && after != nil {
		details["after"] = Redacted(o.stored(cfg, id, after))
	}
	if err == nil && o.s.AfterConfigChange != nil {
		o.s.AfterConfigChange(ctx)
	}
	if err := o.s.finish(ctx, a, o.k.Name+"."+verb, o.k.Name, id, details, err); err != nil {
		return nil, "", err
	}
	if after == nil {
		return nil, "", nil
	}
	v := o.stored(cfg, id, after)
	return &v, o.s.ETag(&v), nil
}

// stored returns the object as the store returned it (with its AUD, times in UTC), or v.
func (o Objects[T]) stored(cfg *store.Config, id string, v *T) T {
	if cfg != nil {
		if i := o.index(cfg, id); i >= 0 {
			return (*o.k.list(cfg))[i]
		}
	}
	return *v
}

func checkManagedBy(m string) error {
	if m == "" || m == store.ManagedByAPI {
		return nil
	}
	return fmt.Errorf("%w: managed_by: is read-only: objects created through the API are managed_by %q", ErrInvalid, store.ManagedByAPI)
}

// check validates cfg with CheckConfig; problems at the object section/id lose that prefix.
func (s *Service) check(cfg *store.Config, section, id string, deleting bool) error {
	if s.CheckConfig == nil {
		return errors.New("admin: no configuration checker: configuration objects cannot be changed in this process")
	}
	ps := s.CheckConfig(cfg)
	if len(ps) == 0 {
		return nil
	}
	prefix := section + "[id=" + id + "]"
	for i := range ps {
		if rest, ok := strings.CutPrefix(ps[i].Path, prefix); ok {
			ps[i].Path = strings.TrimPrefix(rest, ".")
		}
	}
	kind := ErrInvalid
	if deleting {
		kind = ErrConflict
	}
	return &ValidationError{Problems: ps, kind: kind}
}

func (s *Service) fileName() string {
	if s.ConfigFile == "" {
		return ""
	}
	return " (" + s.ConfigFile + ")"
}

// ServiceTokenWithSecret is a service token as created or rotated: the only time its client
// secret is shown.
type ServiceTokenWithSecret struct {
	store.ServiceToken
	ClientSecret string `json:"client_secret"`
}

// CreateServiceToken creates a service token (managed_by api) with a new client ID and secret;
// the secret is returned once and only its SHA-256 is stored. v's name, duration, expires_at and
// disabled are used; its id may be empty (a UUID is chosen).
func (s *Service) CreateServiceToken(ctx context.Context, a Actor, v store.ServiceToken) (*ServiceTokenWithSecret, string, error) {
	secret, hash, err := newClientSecret()
	if err != nil {
		return nil, "", err
	}
	v.ClientID = hex.EncodeToString(randomBytes(16)) + ".access"
	v.ClientSecretSHA256 = hash
	v.CreatedAt = s.now().Truncate(time.Microsecond)
	o := s.ServiceTokens()
	tok, etag, err := o.create(ctx, a, v)
	if err != nil {
		return nil, "", err
	}
	return &ServiceTokenWithSecret{ServiceToken: *tok, ClientSecret: secret}, etag, nil
}

// RotateServiceToken gives an API service token a new client secret (the old one stops working
// at once) and returns it once; the creation time, from which its duration runs, becomes now.
func (s *Service) RotateServiceToken(ctx context.Context, a Actor, id, ifMatch string) (*ServiceTokenWithSecret, string, error) {
	secret, hash, err := newClientSecret()
	if err != nil {
		return nil, "", err
	}
	o := s.ServiceTokens()
	now := s.now().Truncate(time.Microsecond)
	tok, etag, err := o.change(ctx, a, "rotate", id, ifMatch, func(cfg *store.Config, i int) (int, error) {
		if i < 0 {
			return 0, fmt.Errorf("service token %q: %w", id, ErrNotFound)
		}
		t := &cfg.ServiceTokens[i]
		t.ClientSecretSHA256, t.CreatedAt = hash, now
		return i, nil
	})
	if err != nil {
		return nil, "", err
	}
	return &ServiceTokenWithSecret{ServiceToken: *tok, ClientSecret: secret}, etag, nil
}

func newClientSecret() (secret, hash string, err error) {
	secret = hex.EncodeToString(randomBytes(32))
	sum := sha256.Sum256([]byte(secret))
	return secret, hex.EncodeToString(sum[:]), nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return b
}

// ETags. An object's ETag is an HMAC of its whole stored JSON (secrets included, so that a
// changed secret changes it) under Service.ETagKey: a strong validator that reveals nothing
// about the secrets. Replicas share the key (the composition root derives it from the master
// key), so an ETag read from one is honoured by another.

var (
	processETagKey     []byte
	processETagKeyOnce sync.Once
)

func (s *Service) etagKey() []byte {
	if len(s.ETagKey) > 0 {
		return s.ETagKey
	}
	processETagKeyOnce.Do(func() { processETagKey = randomBytes(32) })
	return processETagKey
}

// ETag returns the entity tag of a configuration object, quoted as HTTP writes it.
func (s *Service) ETag(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return `"-"`
	}
	m := hmac.New(sha256.New, s.etagKey())
	m.Write(b)
	return `"` + hex.EncodeToString(m.Sum(nil)[:16]) + `"`
}

// etagMatches reports whether an If-Match header value matches v's ETag: "*", or a
// comma-separated list of entity tags one of which is v's (weak tags never match: If-Match
// uses the strong comparison).
func (s *Service) etagMatches(ifMatch string, v any) bool {
	want := s.ETag(v)
	for tag := range strings.SplitSeq(ifMatch, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" || hmac.Equal([]byte(tag), []byte(want)) {
			return true
		}
	}
	return false
}

// Redaction. Secrets are never shown by the API nor written to the audit log: a literal secret
// (client_secret, password, auth_credentials, client_secret_sha256) is shown as RedactedValue;
// a reference ({env: NAME} or {file: PATH}) is shown as it is. A replacement that gives
// RedactedValue back where the stored object had a secret keeps the stored secret.

// RedactedValue stands for a secret in API answers and audit events.
const RedactedValue = "[redacted]"

var secretKeys = map[string]bool{"client_secret": true, "password": true, "auth_credentials": true, "client_secret_sha256": true,
	"secret": true}

// Redacted returns v as a JSON value with its secrets redacted.
func Redacted(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var doc any
	if json.Unmarshal(b, &doc) != nil {
		return nil
	}
	return redactJSON(doc)
}

func redactJSON(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if secretKeys[k] && isLiteralSecret(e) {
				t[k] = RedactedValue
				continue
			}
			t[k] = redactJSON(e)
		}
	case []any:
		for i := range t {
			t[i] = redactJSON(t[i])
		}
	}
	return v
}

// isLiteralSecret: a non-empty string, or a secret mapping with its value inline.
func isLiteralSecret(v any) bool {
	switch t := v.(type) {
	case string:
		return t != ""
	case map[string]any:
		_, inline := t["value"]
		return inline
	}
	return false
}

// restoreRedacted puts the stored secrets of old back where next has RedactedValue.
func restoreRedacted[T any](old, next *T) error {
	ob, err := json.Marshal(old)
	if err != nil {
		return err
	}
	nb, err := json.Marshal(next)
	if err != nil {
		return err
	}
	if !bytes.Contains(nb, []byte(RedactedValue)) {
		return nil
	}
	var od, nd any
	if err := json.Unmarshal(ob, &od); err != nil {
		return err
	}
	if err := json.Unmarshal(nb, &nd); err != nil {
		return err
	}
	if problem := restoreJSON(od, nd, ""); problem != "" {
		return fmt.Errorf("%w: %s: is %q, which stands for a stored secret, but there is none here to keep", ErrInvalid, problem, RedactedValue)
	}
	b, err := json.Marshal(nd)
	if err != nil {
		return err
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*next = v
	return nil
}

// restoreJSON replaces RedactedValue under a secret key of next by old's value at the same
// place; it returns the path of one it cannot restore.
func restoreJSON(old, next any, path string) string {
	switch n := next.(type) {
	case map[string]any:
		o, _ := old.(map[string]any)
		for k, e := range n {
			p := strings.TrimPrefix(path+"."+k, ".")
			if secretKeys[k] && e == RedactedValue {
				if ov, ok := o[k]; ok && isLiteralSecret(ov) {
					n[k] = ov
					continue
				}
				return p
			}
			if bad := restoreJSON(o[k], e, p); bad != "" {
				return bad
			}
		}
	case []any:
		o, _ := old.([]any)
		for i := range n {
			var ov any
			if i < len(o) {
				ov = o[i]
			}
			if bad := restoreJSON(ov, n[i], fmt.Sprintf("%s[%d]", path, i)); bad != "" {
				return bad
			}
		}
	}
	return ""
}

// mergePatch applies an RFC 7396 JSON merge patch.
func mergePatch(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
			continue
		}
		t[k] = mergePatch(t[k], v)
	}
	return t
}

// DecodeStrict decodes one JSON value into v, refusing unknown fields and trailing data; the
// error wraps ErrInvalid and names the field.
func DecodeStrict(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te):
			return fmt.Errorf("%w: %s: must be %s, not a JSON %s", ErrInvalid, te.Field, te.Type.String(), te.Value)
		case errors.As(err, &se):
			return fmt.Errorf("%w: body: not valid JSON (at byte %d)", ErrInvalid, se.Offset)
		case errors.Is(err, io.EOF):
			return fmt.Errorf("%w: body: a JSON object is required", ErrInvalid)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return fmt.Errorf("%w: body: unknown field %s", ErrInvalid, strings.TrimPrefix(err.Error(), "json: unknown field "))
		default:
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return fmt.Errorf("%w: body: larger than %d bytes", ErrInvalid, mbe.Limit)
			}
			return fmt.Errorf("%w: body: %s", ErrInvalid, safeJSONError(err))
		}
	}
	if dec.More() {
		return fmt.Errorf("%w: body: one JSON value expected", ErrInvalid)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: body: one JSON value expected", ErrInvalid)
	}
	return nil
}

// safeJSONError is a decoding error's text without Go type names that mean nothing to a user.
func safeJSONError(err error) string {
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return msg
}
