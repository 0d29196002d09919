package config

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/identity/onetimepin"
	"github.com/gatehouse/gatehouse/internal/store"
)

// StoreConfig converts the file's access objects to a store.Config, hashing the service tokens'
// client secrets (which it resolves; a secret that cannot be resolved is a *ValidationError). The
// object lists are copies of f's. It does not validate; Parse already has.
func (f *File) StoreConfig() (*store.Config, error) {
	cfg, issues := f.resolvedStoreConfig()
	if ve := f.problems(issues); ve != nil {
		return nil, ve
	}
	return cfg, nil
}

// resolvedStoreConfig is storeConfig with the service tokens' secrets resolved and hashed.
func (f *File) resolvedStoreConfig() (*store.Config, []issue) {
	cfg := f.storeConfig()
	var issues []issue
	for i, t := range f.ServiceTokens {
		if t.ClientSecretSHA256 != "" || t.ClientSecret.IsZero() {
			continue
		}
		path := fmt.Sprintf("service_tokens[%d].client_secret", i)
		secret, err := t.ClientSecret.Resolve()
		if err != nil {
			issues = append(issues, issue{path: path, msg: err.Error()})
			continue
		}
		if len(secret) < minClientSecretLen {
			issues = append(issues, issue{path: path, msg: fmt.Sprintf("must be at least %d characters", minClientSecretLen)})
			continue
		}
		sum := sha256.Sum256([]byte(secret))
		cfg.ServiceTokens[i].ClientSecretSHA256 = hex.EncodeToString(sum[:])
	}
	return cfg, issues
}

// storeConfig converts without resolving secrets: a token given by client_secret has an empty
// hash (enough for validation, which only needs ids).
func (f *File) storeConfig() *store.Config {
	cfg := &store.Config{
		Organization:      f.Organization,
		IdentityProviders: slices.Clone(f.IdentityProviders),
		Applications:      slices.Clone(f.Applications),
		Policies:          slices.Clone(f.Policies),
		Groups:            slices.Clone(f.Groups),
		Lists:             slices.Clone(f.Lists),
		MCPServers:        slices.Clone(f.MCPServers),
		MCPPortals:        slices.Clone(f.MCPPortals),
	}
	for _, t := range f.ServiceTokens {
		cfg.ServiceTokens = append(cfg.ServiceTokens, store.ServiceToken{
			ID:                 t.ID,
			Name:               t.Name,
			ClientID:           t.ClientID,
			ClientSecretSHA256: strings.ToLower(t.ClientSecretSHA256),
			Duration:           t.Duration,
			ExpiresAt:          t.ExpiresAt,
			Disabled:           t.Disabled,
		})
	}
	return cfg
}

// CheckSecrets resolves every secret in the file (storage dsn, service token client secrets,
// SMTP passwords) and reports every one that cannot be resolved (or, for a client secret, is
// shorter than 32 characters) as a *ValidationError. Parse does not read secrets; this is for
// `gatehouse config validate` and start-up, to fail early and with positions.
func (f *File) CheckSecrets() error {
	if ve := f.problems(f.secretIssues()); ve != nil {
		return ve
	}
	return nil
}

// secretIssues resolves every secret of the file and returns those that cannot be resolved.
func (f *File) secretIssues() []issue {
	_, issues := f.resolvedStoreConfig()
	check := func(path string, s interface{ Resolve() (string, error) }) {
		if _, err := s.Resolve(); err != nil {
			issues = append(issues, issue{path: path, msg: err.Error()})
		}
	}
	if !f.Storage.DSN.IsZero() {
		check("storage.dsn", f.Storage.DSN)
	}
	for i, p := range f.IdentityProviders {
		if p.Type != store.IdPOneTimePIN {
			continue
		}
		c, err := onetimepin.ParseConfig(p.Config)
		if err != nil || c.SMTP == nil || c.SMTP.Password.IsZero() {
			continue
		}
		check(fmt.Sprintf("identity_providers[%d].config.smtp.password", i), c.SMTP.Password)
	}
	if f.Audit.Webhook != nil && !f.Audit.Webhook.Secret.IsZero() {
		if _, err := f.Audit.WebhookSecret(); err != nil {
			issues = append(issues, issue{path: "audit.webhook.secret", msg: strings.TrimPrefix(err.Error(), "audit.webhook.secret: ")})
		}
	}
	return issues
}

// Apply validates f and replaces the file's objects in the store with f's in one UpdateConfig
// call (see "Applying" in the package documentation): objects the file owned and no longer
// declares are removed, objects created through the admin API are kept. A file object whose id
// an API object of its kind has, or a merged configuration that fails validation (an API object
// referring to an object removed from the file, say), is a *ValidationError and changes nothing.
// The store keeps each application's AUD by id. A service token keeps its creation time while
// its id and secret hash are unchanged; a new or re-keyed token is created now. Apply returns
// the configuration as stored.
func (f *File) Apply(ctx context.Context, st store.Store) (*store.Config, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	cfg, err := f.StoreConfig()
	if err != nil {
		return nil, err
	}
	for _, o := range cfg.Objects() {
		*o.ManagedBy = store.ManagedByFile
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	out, err := st.UpdateConfig(ctx, func(cur *store.Config) error {
		// The updater may run more than once: build the new value from cfg every time.
		created := make(map[string]store.ServiceToken, len(cur.ServiceTokens))
		for _, t := range cur.ServiceTokens {
			created[t.ID] = t
		}
		next, issues := merge(cfg, cur)
		if ve := f.problems(issues); ve != nil {
			return ve
		}
		if ve := f.mergedProblems(next, cfg); ve != nil {
			return ve
		}
		for i := range next.ServiceTokens {
			t := &next.ServiceTokens[i]
			if t.ManagedBy != store.ManagedByFile {
				continue
			}
			if old, ok := created[t.ID]; ok && old.ClientSecretSHA256 == t.ClientSecretSHA256 && !old.CreatedAt.IsZero() {
				t.CreatedAt = old.CreatedAt
			} else {
				t.CreatedAt = now
			}
		}
		*cur = *next
		return nil
	})
	var ve *ValidationError
	if errors.As(err, &ve) {
		return nil, ve
	}
	if err != nil {
		return nil, fmt.Errorf("config: applying to the store: %w", err)
	}
	return out, nil
}

// mergedProblems validates the merged configuration next (the file's objects, in file order,
// then the API's): a problem at a file object keeps its index path and gets its position in the
// file; a problem at an API object is named by its id, says so, and has no position.
func (f *File) mergedProblems(next, file *store.Config) *ValidationError {
	merged := *next
	merged.IdentityProviders = slices.Clone(next.IdentityProviders)
	merged.Applications = slices.Clone(next.Applications)
	merged.ServiceTokens = slices.Clone(next.ServiceTokens)
	SetObjectDefaults(&merged)
	issues := f.withObjects(&merged).validate()
	if len(issues) == 0 {
		return nil
	}
	counts := map[string]int{}
	for _, o := range file.Objects() {
		counts[o.Section]++
	}
	var fileIssues []issue
	var apiProblems []Problem
	for _, is := range issues {
		if m := indexedPath.FindStringSubmatch(is.path); m != nil {
			if i, _ := strconv.Atoi(m[2]); i >= counts[m[1]] {
				apiProblems = append(apiProblems, Problem{Path: objectPath(&merged, is.path),
					Msg: is.msg + " (an object created through the admin API)"})
				continue
			}
		}
		fileIssues = append(fileIssues, is)
	}
	ps := apiProblems
	if ve := f.problems(fileIssues); ve != nil {
		ps = append(ve.Problems, ps...)
	}
	return &ValidationError{Problems: ps}
}
