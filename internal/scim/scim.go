// Package scim is Gatehouse's inbound SCIM 2.0 server (RFC 7643/7644): one endpoint per identity
// provider at <prefix>scim/v2/<idp id>/ on the auth domain, serving Users, Groups and the
// discovery resources, authenticated by a bearer secret that Gatehouse generates and stores
// hashed (GenerateSecret, RotateSecret).
//
// Every SCIM resource belongs to the identity provider whose endpoint created it: IDs are
// Gatehouse UUIDs, externalId is opaque and only meaningful within that IdP, and a token of one
// IdP never reaches another's resources.
//
// Linking to the user registry. A SCIM user is linked to the registry user with its e-mail (the
// primary e-mail, else userName) only when that registry user is already linked to the same IdP:
// it logged in through the IdP, or this IdP's provisioning created it (store.User.IdPIDs). When
// no registry user has the address, provisioning creates one linked to the IdP. A registry user
// of the same address that only ever came through other IdPs is never linked, so one IdP cannot
// take over or deprovision another IdP's user by choosing its e-mail; the SCIM user then stays
// unlinked (and is retried on every later write) until the person logs in through this IdP.
//
// Effects on the registry (store.SCIMConfig): with user_deprovision, deactivating (active=false by
// PUT or PATCH) or deleting a linked SCIM user marks the registry user inactive, so that new
// logins are refused, and revokes all of its sessions; Server.Revoked then reloads revocations
// before the response, so the next request through this replica is refused. Reactivation marks
// the registry user active again. seat_deprovision is recorded in the change log (Gatehouse has
// no seat accounting yet). identity_update_behavior: automatic stores the user's SCIM group names
// with the registry user (store.User.SCIMGroups), which authn merges into the identity of logins
// through this IdP; reauth revokes the user's sessions when its group membership changes;
// no_action does neither. A write and its effects commit in one store transaction (see
// effects.go), so a failure leaves nothing half done for the IdP's retry.
package scim

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Schema URNs.
const (
	SchemaUser         = "urn:ietf:params:scim:schemas:core:2.0:User"
	SchemaGroup        = "urn:ietf:params:scim:schemas:core:2.0:Group"
	SchemaEnterprise   = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	SchemaListResponse = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	SchemaPatchOp      = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	SchemaError        = "urn:ietf:params:scim:api:messages:2.0:Error"
	SchemaSPConfig     = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	SchemaResourceType = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	SchemaSchema       = "urn:ietf:params:scim:schemas:core:2.0:Schema"
)

// Limits.
const (
	DefaultMaxBodyBytes = 1 << 20
	DefaultMaxPageSize  = 200
	DefaultMaxPatchOps  = 100
	// maxInMemoryMatch bounds how many resources a filter that cannot run in SQL scans.
	maxInMemoryMatch = 200_000
	// secretPrefix marks Gatehouse SCIM secrets (helps secret scanners).
	secretPrefix = "ghscim_"
)

// Change is one SCIM write, for the audit log (access-spec.md §6.1 "SCIM update log").
type Change struct {
	Time         time.Time
	IdPID        string
	Method       string // POST, PUT, PATCH, DELETE
	ResourceType string // USER or GROUP
	ResourceID   string // Gatehouse ID ("" when a create failed)
	ExternalID   string
	UserEmail    string
	GroupName    string
	Status       int
	Error        string
	// IP is the address of the SCIM client (the IdP's provisioning service), when known.
	IP string
	// Effects are what the write did to the registry: "registry-user-created", "linked",
	// "not-linked-other-idp", "deactivated", "sessions-revoked", "seat-removed", "reactivated",
	// "groups-updated".
	Effects []string
}

// Server serves the SCIM endpoints of every identity provider.
type Server struct {
	Store store.Store
	// IdP returns the current configuration of an identity provider (nil when unknown).
	IdP func(id string) *store.IdentityProvider
	// BaseURL returns the absolute base URL of an IdP's endpoint, without the trailing slash
	// (https://auth.example.com/cdn-cgi/access/scim/v2/okta).
	BaseURL func(idpID string) string
	// Revoked is called after sessions were revoked, before the response is sent; the app
	// reloads revocations synchronously so that the next request is refused.
	Revoked func(ctx context.Context)
	// OnChange receives every SCIM write (the audit sink); it is also logged to Log.
	OnChange func(ctx context.Context, c Change)
	Log      *slog.Logger
	Now      func() time.Time
	// NewID returns resource IDs; default random UUIDs.
	NewID func() string
	// MaxBodyBytes, MaxPageSize and MaxPatchOps default to the Default constants.
	MaxBodyBytes int64
	MaxPageSize  int
	MaxPatchOps  int
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Server) newID() string {
	if s.NewID != nil {
		return s.NewID()
	}
	return uuid.NewString()
}

func (s *Server) maxBody() int64 {
	if s.MaxBodyBytes > 0 {
		return s.MaxBodyBytes
	}
	return DefaultMaxBodyBytes
}

func (s *Server) maxPage() int {
	if s.MaxPageSize > 0 {
		return s.MaxPageSize
	}
	return DefaultMaxPageSize
}

func (s *Server) maxOps() int {
	if s.MaxPatchOps > 0 {
		return s.MaxPatchOps
	}
	return DefaultMaxPatchOps
}

func (s *Server) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// GenerateSecret returns a new random bearer secret (256 bits) and its stored hash.
func GenerateSecret() (secret, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("scim: generate secret: %w", err)
	}
	secret = secretPrefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, HashSecret(secret), nil
}

// HashSecret returns the hex SHA-256 under which a secret is stored.
func HashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// RotateSecret creates or replaces the IdP's SCIM secret and returns the new secret, which is
// shown once and never stored.
func RotateSecret(ctx context.Context, st store.Store, idpID string) (string, error) {
	secret, hash, err := GenerateSecret()
	if err != nil {
		return "", err
	}
	if err := st.SetSCIMSecret(ctx, idpID, hash); err != nil {
		return "", fmt.Errorf("scim: store secret: %w", err)
	}
	return secret, nil
}

// Error is a SCIM error response (RFC 7644 §3.12).
type Error struct {
	Status   int
	ScimType string
	Detail   string
	// cause is logged, never sent.
	cause error
}

func (e *Error) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("scim %d %s: %s: %v", e.Status, e.ScimType, e.Detail, e.cause)
	}
	return fmt.Sprintf("scim %d %s: %s", e.Status, e.ScimType, e.Detail)
}

func (e *Error) Unwrap() error { return e.cause }

func errorf(status int, scimType, format string, args ...any) *Error {
	return &Error{Status: status, ScimType: scimType, Detail: fmt.Sprintf(format, args...)}
}

var (
	errNotFound     = errorf(http.StatusNotFound, "", "Resource not found.")
	errPrecondition = errorf(http.StatusPreconditionFailed, "", "The resource version does not match If-Match.")
)

// storeError maps a store failure to a SCIM error.
func storeError(err error, what string) *Error {
	var se *Error
	switch {
	case errors.As(err, &se):
		return se
	case errors.Is(err, store.ErrNotFound):
		return errNotFound
	case errors.Is(err, store.ErrAlreadyExists):
		return errorf(http.StatusConflict, "uniqueness", "%s is not unique.", what)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &Error{Status: http.StatusServiceUnavailable, Detail: "Request cancelled.", cause: err}
	}
	return &Error{Status: http.StatusServiceUnavailable, Detail: "Provisioning is temporarily unavailable.", cause: err}
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var se *Error
	if !errors.As(err, &se) {
		se = &Error{Status: http.StatusInternalServerError, Detail: "Internal error.", cause: err}
	}
	if se.Status >= 500 {
		s.log().LogAttrs(r.Context(), slog.LevelError, "scim request failed", slog.String("path", r.URL.Path), slog.Any("err", se))
	}
	body := map[string]any{"schemas": []string{SchemaError}, "status": fmt.Sprint(se.Status), "detail": se.Detail}
	if se.ScimType != "" {
		body["scimType"] = se.ScimType
	}
	writeJSON(w, se.Status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// ServeHTTP serves <prefix>scim/v2/<idp id>/<resource>[/<id>].
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, rest, ok := strings.Cut(r.URL.Path, "scim/v2/")
	if !ok {
		s.writeError(w, r, errNotFound)
		return
	}
	idpID, rest, _ := strings.Cut(rest, "/")
	idp := s.IdP(idpID)
	if idp == nil || idp.SCIMConfig == nil || !idp.SCIMConfig.Enabled {
		s.writeError(w, r, errorf(http.StatusNotFound, "", "SCIM is not enabled for this identity provider."))
		return
	}
	if err := s.authenticate(r, idpID); err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse-scim"`)
		s.writeError(w, r, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody())
	h := &handler{s: s, idp: idp, cfg: *idp.SCIMConfig, base: s.BaseURL(idpID)}
	resource, id, _ := strings.Cut(rest, "/")
	if strings.Contains(id, "/") {
		s.writeError(w, r, errNotFound)
		return
	}
	switch resource {
	case "Users":
		h.serveUsers(w, r, id)
	case "Groups":
		h.serveGroups(w, r, id)
	case "ServiceProviderConfig", "ResourceTypes", "Schemas":
		if r.Method != http.MethodGet {
			s.writeError(w, r, errorf(http.StatusMethodNotAllowed, "", "Only GET is supported here."))
			return
		}
		h.serveDiscovery(w, r, resource, id)
	default:
		s.writeError(w, r, errNotFound)
	}
}

// authenticate checks the bearer secret of the IdP's endpoint in constant time.
func (s *Server) authenticate(r *http.Request, idpID string) error {
	unauthorized := errorf(http.StatusUnauthorized, "", "Authorization failure: a valid bearer token is required.")
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return unauthorized
	}
	sec, err := s.Store.GetSCIMSecret(r.Context(), idpID)
	if errors.Is(err, store.ErrNotFound) {
		return unauthorized
	}
	if err != nil {
		return storeError(err, "")
	}
	if subtle.ConstantTimeCompare([]byte(HashSecret(tok)), []byte(sec.Hash)) != 1 {
		return unauthorized
	}
	return nil
}

// handler serves one request against one IdP.
type handler struct {
	s    *Server
	idp  *store.IdentityProvider
	cfg  store.SCIMConfig
	base string
}

// record logs a SCIM write and hands it to OnChange.
func (h *handler) record(ctx context.Context, c Change) {
	c.Time, c.IdPID = h.s.now(), h.idp.ID
	if cl, ok := httpx.ClientFromContext(ctx); ok && cl.IP.IsValid() {
		c.IP = cl.IP.String()
	}
	level := slog.LevelInfo
	if c.Status >= 400 {
		level = slog.LevelWarn
	}
	h.s.log().LogAttrs(ctx, level, "scim change",
		slog.String("idp", c.IdPID), slog.String("method", c.Method), slog.String("resource_type", c.ResourceType),
		slog.String("resource_id", c.ResourceID), slog.String("external_id", c.ExternalID),
		slog.String("user_email", c.UserEmail), slog.String("group", c.GroupName),
		slog.Int("status", c.Status), slog.String("error", c.Error), slog.Any("effects", c.Effects), slog.String("ip", c.IP))
	if h.s.OnChange != nil {
		h.s.OnChange(ctx, c)
	}
}

// etag is the weak ETag of a resource version.
func etag(version int64) string { return fmt.Sprintf(`W/"%d"`, version) }

// checkIfMatch enforces an If-Match header against the current version.
func checkIfMatch(r *http.Request, version int64) error {
	im := strings.TrimSpace(r.Header.Get("If-Match"))
	if im == "" || im == "*" {
		return nil
	}
	want := etag(version)
	for _, v := range strings.Split(im, ",") {
		v = strings.TrimSpace(v)
		if v == want || v == strings.TrimPrefix(want, "W/") {
			return nil
		}
	}
	return errPrecondition
}

func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

func meta(resourceType, location string, created, modified time.Time, version int64) map[string]any {
	return map[string]any{"resourceType": resourceType, "created": formatTime(created), "lastModified": formatTime(modified),
		"location": location, "version": etag(version)}
}

// readBody reads a JSON object body, rejecting attribute names that are not SCIM names
// (prototype-pollution-shaped keys such as "__proto__" included), and returns it decoded and
// raw.
func readBody(r *http.Request) (map[string]any, []byte, error) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, nil, errorf(http.StatusRequestEntityTooLarge, "", "The request body exceeds %d bytes.", mbe.Limit)
		}
		return nil, nil, errorf(http.StatusBadRequest, "invalidSyntax", "The request body could not be read.")
	}
	var body map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&body); err != nil || body == nil {
		return nil, nil, errorf(http.StatusBadRequest, "invalidSyntax", "The request body is not a JSON object.")
	}
	if dec.More() {
		return nil, nil, errorf(http.StatusBadRequest, "invalidSyntax", "The request body has trailing data.")
	}
	if err := checkNames(body, 0); err != nil {
		return nil, nil, err
	}
	return body, raw, nil
}

// validName reports whether k is a SCIM attribute name (ALPHA *(nameChar)), a schema URN, or
// "$ref".
func validName(k string) bool {
	if k == "$ref" {
		return true
	}
	if strings.HasPrefix(strings.ToLower(k), "urn:") {
		return !strings.Contains(k, "__") && len(k) < 256
	}
	if k == "" || len(k) > 128 || !isAlpha(k[0]) {
		return false
	}
	for i := 1; i < len(k); i++ {
		if c := k[i]; !isAlpha(c) && !(c >= '0' && c <= '9') && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

const maxDepth = 8

func checkNames(v any, depth int) error {
	if depth > maxDepth {
		return errorf(http.StatusBadRequest, "invalidSyntax", "The request body is nested too deeply.")
	}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if !validName(k) {
				return errorf(http.StatusBadRequest, "invalidSyntax", "%q is not a valid attribute name.", k)
			}
			if err := checkNames(e, depth+1); err != nil {
				return err
			}
		}
	case []any:
		for _, e := range x {
			if err := checkNames(e, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// lookup returns the value of a top-level attribute, matching its name case-insensitively.
func lookup(m map[string]any, name string) (any, bool) {
	if v, ok := m[name]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

// deleteAttr removes a top-level attribute whatever the case of its name.
func deleteAttr(m map[string]any, name string) {
	for k := range m {
		if strings.EqualFold(k, name) {
			delete(m, k)
		}
	}
}

// asBool accepts JSON booleans and the strings "true"/"false" (any case), as Entra sends them.
func asBool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		switch strings.ToLower(x) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}
